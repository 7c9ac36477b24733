// examples/my_writer.cc, compiled into this suite exactly as
// -DVTDFUZZ_EXTRA_WRITERS would build it in: an out-of-tree writer registers
// itself through the public interface and drives the real driver.
#include <gtest/gtest.h>

#include "tests/driver/driver_test_util.h"

namespace vtd::drvtest {
namespace {

TEST(ExtraWriter, RegistersThroughThePublicInterface) {
  bool listed = false;
  for (const drv::WriterInfo& w : drv::writers()) listed |= w.name == "my-writer";
  EXPECT_TRUE(listed);
  EXPECT_NE(drv::make_writer("my-writer"), nullptr);
}

// Replacing a second-stage domain keeps the device translating: with
// cmpxchg16b the one changed chunk is stored at once, and the entry ends as
// the new domain's, reachable through the hardware tables.
TEST(ExtraWriter, ReplaceEndsOnTheNewDomainAndDeclaresOneStoreHitless) {
  for (const Platform& p : store_variants(true)) {
    Rig r(p, "my-writer");
    ASSERT_EQ(r.init_status, Status::Ok);
    Sid dev(0, 2, 0);
    ASSERT_EQ(r.add_device(dev, false), Status::Ok);
    ASSERT_EQ(r.d.domain_alloc(1, drv::DomainType::SecondStage), Status::Ok);
    ASSERT_EQ(r.d.domain_alloc(2, drv::DomainType::SecondStage), Status::Ok);
    ASSERT_EQ(r.d.map(1, 0x1000, data_pa(1), sim::kPageSize, drv::kRead | drv::kWrite), Status::Ok);
    ASSERT_EQ(r.d.map(2, 0x1000, data_pa(2), sim::kPageSize, drv::kRead | drv::kWrite), Status::Ok);
    ASSERT_EQ(r.d.attach(dev, 1), Status::Ok);
    EXPECT_EQ(r.m.iommu.translate({dev, sim::kNoPasid, 0x1000, sim::Access::Read}).pa, data_pa(1));
    ASSERT_EQ(r.d.replace(dev, 2), Status::Ok);
    EXPECT_EQ(r.m.iommu.translate({dev, sim::kNoPasid, 0x1000, sim::Access::Read}).pa, data_pa(2));
  }
  std::unique_ptr<drv::Writer> w = drv::make_writer("my-writer");
  Entry a =
      sim::encode(sim::PasidEntryFields{.pgtt = sim::kPgttSecond, .ssptptr = 0x1000, .did = 5});
  Entry b =
      sim::encode(sim::PasidEntryFields{.pgtt = sim::kPgttSecond, .ssptptr = 0x2000, .did = 6});
  Entry c =
      sim::encode(sim::PasidEntryFields{.pgtt = sim::kPgttFirst, .fsptptr = 0x3000, .did = 6});
  drv::Caps wide, narrow;
  narrow.cpu128 = false;
  EXPECT_TRUE(w->hitless(wide, a, b));     // one 128-bit chunk
  EXPECT_FALSE(w->hitless(narrow, a, b));  // two 64-bit words
  EXPECT_FALSE(w->hitless(wide, a, c));    // two chunks
}

}  // namespace
}  // namespace vtd::drvtest

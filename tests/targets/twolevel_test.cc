// The two-level vIOMMU programs (DESIGN.md section 13, targets/viommu.h):
// a guest driver with its own writer over the virtual unit, the propagator
// carrying its PASID entries onto the host. The reference carries the
// correct guest writers clean; a guest writer's own bug is caught one level
// up (P14); a propagator's bug is caught through the guest's driver; every
// byte string read the guest's way is a program that runs the same twice.
#include <gtest/gtest.h>

#include "prog/program.h"
#include "simulator/rng.h"
#include "targets/harness.h"

namespace vtd::viommu {
namespace {

// A guest moves its device between two first-stage domains that map IOVA
// 0x1000 alike, then detaches, reattaches and reboots; the device's DMA
// runs between the ops and at the host's first two stores of the replace.
constexpr const char* kProgram = R"(writer entry-sync
viommu reference
config scalable coherent quantum=128 cpu128
assign host=00:02.0 guest=00:03.0
g.domain 1 first-stage
g.map 1 iova=0x1000 pa=0x80000 rw
g.domain 2 first-stage
g.map 2 iova=0x1000 pa=0x80000 rw
g.attach dev=00:03.0 domain=1
dma dev=00:02.0 iova=0x1000 write
g.replace dev=00:03.0 domain=2
  @store 1: dma dev=00:02.0 iova=0x1000 write
  @store 2: dma dev=00:02.0 iova=0x1000 write
dma dev=00:02.0 iova=0x1000 write
g.unmap 2 iova=0x1000
dma dev=00:02.0 iova=0x1000 write
g.detach dev=00:03.0
dma dev=00:02.0 iova=0x1000 write
g.attach dev=00:03.0 domain=1
g.reset
dma dev=00:02.0 iova=0x1000 write
)";

harness::Result run(const std::string& writer, const std::string& propagator) {
  prog::Program p;
  std::string err;
  EXPECT_TRUE(prog::parse(kProgram, &p, &err)) << err;
  harness::Options o;
  o.writer = writer;
  o.viommu = propagator;
  harness::Result r = harness::run(p, o);
  EXPECT_EQ(r.error, "");
  return r;
}

std::string param_name(const ::testing::TestParamInfo<const char*>& i) {
  std::string s = i.param;
  for (char& c : s)
    if (c == '-') c = '_';
  return s;
}

class CorrectGuestWriter : public ::testing::TestWithParam<const char*> {};

TEST_P(CorrectGuestWriter, ReferencePropagatesItsBindsAndUnbinds_Clean) {
  const harness::Result r = run(GetParam(), "reference");
  EXPECT_FALSE(r.violated) << harness::report(r);
  EXPECT_EQ(r.ops_run, 16u);
}

INSTANTIATE_TEST_SUITE_P(TwoLevel, CorrectGuestWriter,
                         ::testing::Values("entry-sync", "teardown-replace"), param_name);

// A guest writer that declares the DID-changing replace hitless: legacy
// (struct copy, "already supports replacing hitlessly"), atomic128-v1 (B4)
// and entry-sync-tempdid. The VMM carries it to the host as a replace the
// host (targets/viommu.h, kHostWriter) does as teardown + setup: the
// guest's DMA faults inside its hitless replace, its P3 one level up.
class HitlessPromiseGuestWriter : public ::testing::TestWithParam<const char*> {};

TEST_P(HitlessPromiseGuestWriter, DidChangingReplace_CaughtAsP14) {
  const harness::Result r = run(GetParam(), "reference");
  ASSERT_TRUE(r.violated);
  EXPECT_EQ(r.violation.property, oracle::Property::P14) << harness::report(r);
  EXPECT_NE(r.violation.what.find("guest P3"), std::string::npos) << r.violation.what;
  EXPECT_EQ(r.violation.op_text, "g.replace dev=00:03.0 domain=2");
}

INSTANTIATE_TEST_SUITE_P(TwoLevel, HitlessPromiseGuestWriter,
                         ::testing::Values("legacy", "atomic128-v1", "entry-sync-tempdid"),
                         param_name);

// B29 through a guest driver: its detach clears P and invalidates; the
// propagator leaves the host bound (seeds/003, "Detaching from HWPT").
TEST(TwoLevel, GuestDetachOnKeptAfterUnbind_CaughtAsP13) {
  const harness::Result r = run("entry-sync", "kept-after-unbind");
  ASSERT_TRUE(r.violated);
  EXPECT_EQ(r.violation.property, oracle::Property::P13) << harness::report(r);
}

// B36 through a guest driver: a reboot (g.reset) with the device bound.
TEST(TwoLevel, GuestRebootOnResetBlocks_CaughtAsP13) {
  const harness::Result r = run("entry-sync", "reset-blocks");
  ASSERT_TRUE(r.violated);
  EXPECT_EQ(r.violation.property, oracle::Property::P13) << harness::report(r);
}

// Guest RAM ends at 1 GiB: a pass-through guest domain's DMA beyond it is
// the host's second stage's fault, which a real VT-d composed with it
// gives too (P14 reads the guest's translation through the host's).
TEST(TwoLevel, PassThroughDmaBeyondGuestRam_FaultIsAllowed) {
  prog::Program p;
  std::string err;
  ASSERT_TRUE(prog::parse(R"(writer entry-sync
viommu reference
config scalable coherent quantum=128 cpu128
assign host=00:02.0 guest=00:02.0
g.domain 1 identity
g.attach dev=00:02.0 domain=1
dma dev=00:02.0 iova=0x3fffffffffffffff write
dma dev=00:02.0 iova=0x80000 write
)",
                          &p, &err))
      << err;
  const harness::Result r = harness::run(p, {});
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.violated) << harness::report(r);
}

// A device's DMA while the VMM assigns it (default HWPT, then blocked when
// the unit's remapping is on) is not the guest's to judge: its driver
// probes the device only when the assign returns.
TEST(TwoLevel, DmaWhileAssigning_IsTheVmms) {
  prog::Program p;
  std::string err;
  ASSERT_TRUE(prog::parse(R"(writer entry-sync
viommu reference
config scalable coherent quantum=128 cpu128
assign host=00:02.0 guest=00:02.0
g.domain 1 first-stage
g.attach dev=00:02.0 domain=1
assign host=00:03.0 guest=00:04.0
  @store 4: dma dev=00:03.0 iova=0x0 read
)",
                          &p, &err))
      << err;
  const harness::Result r = harness::run(p, {});
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.violated) << harness::report(r);
}

// Every byte string is a two-level program (prog::decode_guest): it runs
// without an error, twice alike, and its binary form reads back the same.
TEST(TwoLevel, EveryByteString_RunsTheSameTwice) {
  sim::Rng rng(18);
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> b(rng.below(96));
    for (uint8_t& x : b) x = uint8_t(rng.below(256));
    prog::Program p = prog::decode_guest(b, "reference");
    p.config.scalable = p.config.coherent = true;  // as the twolevel target runs it
    const prog::Program back = prog::decode(prog::encode(p));
    ASSERT_EQ(prog::to_text(back), prog::to_text(p)) << "input " << i;
    harness::Options o;
    o.writer = "entry-sync";
    const harness::Result a = harness::run(p, o), c = harness::run(p, o);
    ASSERT_EQ(a.error, "") << prog::to_text(p);
    ASSERT_EQ(a.violated, c.violated) << prog::to_text(p);
    if (a.violated) EXPECT_EQ(a.violation.signature, c.violation.signature);
  }
}

}  // namespace
}  // namespace vtd::viommu

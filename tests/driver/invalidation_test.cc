// The invalidation policy of driver/invalidation.h (spec 6.5.3.3,
// VTD-REFERENCE.md "What software must do"), checked on its own: which
// descriptors an entry change needs, for each kind of entry and device.
#include "driver/invalidation.h"

#include <gtest/gtest.h>

#include "tests/driver/driver_test_util.h"

namespace vtd::drvtest {
namespace {

const Sid kDev(0, 2, 0);

Entry pasid_entry(uint8_t pgtt, uint16_t did) {
  sim::PasidEntryFields f;
  f.pgtt = pgtt;
  f.did = did;
  f.aw = 2;
  f.ssptptr = 0x1000000;
  f.fsptptr = 0x1001000;
  return sim::encode(f);
}

TEST(Invalidation, EntryCache_LegacyContextIsDeviceSelectiveWithItsDid) {
  auto v = drv::inv::entry_cache(EntryKind::LegacyContext, kDev, sim::kNoPasid, 7);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(context_device_selective(v[0], 7, kDev)) << v[0].str();
}

TEST(Invalidation, EntryCache_ScalableContextHasNoDidTheSidSelects) {
  auto v = drv::inv::entry_cache(EntryKind::ScalableContext, kDev, sim::kNoPasid, 7);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(context_device_selective(v[0], 0, kDev)) << v[0].str();
}

TEST(Invalidation, EntryCache_PasidEntryIsPasidSelectiveWithTheNamedDid) {
  auto v = drv::inv::entry_cache(EntryKind::PasidEntry, kDev, 5, 9);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(pasid_cache_selective(v[0], 9, 5)) << v[0].str();
}

TEST(Invalidation, Iotlb_PasidBasedForFirstStageAndPassThroughElseDomainSelective) {
  const struct {
    uint8_t pgtt;
    bool pasid_based;
  } kCases[] = {{sim::kPgttFirst, true},
                {sim::kPgttPassThrough, true},
                {sim::kPgttSecond, false},
                {sim::kPgttNested, false}};
  for (const auto& c : kCases) {
    auto v = drv::inv::iotlb(pasid_entry(c.pgtt, 4), 3);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_TRUE(c.pasid_based ? piotlb_pasid(v[0], 4, 3) : iotlb_domain(v[0], 4))
        << "pgtt " << int(c.pgtt) << ": " << v[0].str();
  }
}

TEST(Invalidation, Iotlb_LegacyContextIsDomainSelective) {
  sim::LegacyContextFields f;
  f.did = 6;
  f.aw = 2;
  f.ssptptr = 0x1000000;
  auto v = drv::inv::iotlb(sim::encode(f), sim::kNoPasid);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(iotlb_domain(v[0], 6)) << v[0].str();
}

TEST(Invalidation, Iotlb_NothingThroughANotPresentOrScalableContextEntry) {
  EXPECT_TRUE(drv::inv::iotlb(Entry(EntryKind::PasidEntry), 0).empty());
  EXPECT_TRUE(drv::inv::iotlb(Entry(EntryKind::LegacyContext), sim::kNoPasid).empty());
  sim::ScalableContextFields f;
  f.pasiddirptr = 0x1002000;
  EXPECT_TRUE(drv::inv::iotlb(sim::encode(f), sim::kNoPasid).empty());
}

TEST(Invalidation, DevTlb_RidPasidAndLegacyInvalidateEverything) {
  for (uint32_t pasid : {drv::kRidPasid, sim::kNoPasid}) {
    auto v = drv::inv::devtlb(kDev, pasid, true, false);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_TRUE(devtlb_all_for(v[0], kDev, pasid)) << v[0].str();
  }
}

TEST(Invalidation, DevTlb_PasidIsPasidBased) {
  auto v = drv::inv::devtlb(kDev, 5, true, false);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(devtlb_all_for(v[0], kDev, 5)) << v[0].str();
}

TEST(Invalidation, DevTlb_NoneWithoutAtsOrForAGoneDevice) {
  EXPECT_TRUE(drv::inv::devtlb(kDev, 0, false, false).empty());
  EXPECT_TRUE(drv::inv::devtlb(kDev, 0, true, true).empty());
}

}  // namespace
}  // namespace vtd::drvtest

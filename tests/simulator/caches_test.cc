// Cache tagging (spec 6.2.1, VTD-REFERENCE.md "Tagging"): the IOTLB is
// tagged by DID (+PASID for first-stage), not by source-id or table root;
// the PASID cache is invalidated by DID; caching mode may cache not-present
// entries; without it, faulting entries are not cached.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/simulator/sim_test_util.h"

namespace vtd::sim {
namespace {

using namespace testutil;

constexpr Iova kIova = 0x40321000;
const Sid kSidA(0, 1, 0);
const Sid kSidB(0, 2, 0);

// --------------------------------------------------------- IOTLB sharing

struct SharingCase {
  std::string name;
  bool scalable;
  uint8_t pgtt;
  uint32_t pasid_a, pasid_b;  // PASID of each device's entry (kNoPasid: RID_PASID 0)
  uint16_t did_a, did_b;
  bool shared;
};

std::vector<SharingCase> sharing_cases() {
  const uint32_t R = kNoPasid;
  return {
      {"Legacy_SameDid", false, kPgttSecond, R, R, 7, 7, true},
      {"Legacy_DifferentDid", false, kPgttSecond, R, R, 7, 8, false},
      {"Scalable_SecondStage_SameDid_RidPasid", true, kPgttSecond, R, R, 7, 7, true},
      {"Scalable_SecondStage_SameDid_DifferentPasids", true, kPgttSecond, 1, 2, 7, 7, true},
      {"Scalable_SecondStage_DifferentDid", true, kPgttSecond, 1, 1, 7, 8, false},
      {"Scalable_FirstStage_SameDidSamePasid", true, kPgttFirst, 1, 1, 7, 7, true},
      {"Scalable_FirstStage_SameDidDifferentPasid", true, kPgttFirst, 1, 2, 7, 7, false},
      {"Scalable_FirstStage_DifferentDidSamePasid", true, kPgttFirst, 1, 1, 7, 8, false},
      {"Scalable_Nested_SameDidSamePasid", true, kPgttNested, 1, 1, 7, 7, true},
      {"Scalable_Nested_SameDidDifferentPasid", true, kPgttNested, 1, 2, 7, 7, false},
  };
}

void PrintTo(const SharingCase& c, std::ostream* os) {
  *os << c.name;
}

class IotlbSharing : public ::testing::TestWithParam<SharingCase> {};

// Device B has its own page tables (iova -> data page 2) but, when its
// entry carries device A's DID (and PASID for first-stage), it is served
// device A's translation (data page 1) from the IOTLB.
TEST_P(IotlbSharing, Iotlb_TaggedByDidNotBySourceId) {
  const SharingCase& c = GetParam();
  for (bool a_first : {true, false}) {
    SCOPED_TRACE(a_first ? "A walks first" : "B walks first");
    Env env(c.scalable ? Config{} : legacy_config());
    auto add = [&](Sid sid, uint32_t pasid, uint16_t did, PhysAddr pa) {
      if (!c.scalable) return add_legacy(env, sid, kTtTranslate, did, kIova, pa);
      return add_scalable(env, sid, pasid == kNoPasid ? 0 : pasid, c.pgtt, did, kIova, pa);
    };
    Device a = add(kSidA, c.pasid_a, c.did_a, data_page(1));
    Device b = add(kSidB, c.pasid_b, c.did_b, data_page(2));
    ASSERT_TRUE(a.ss.root != b.ss.root || a.fs.root != b.fs.root);
    struct Side {
      Sid sid;
      uint32_t pasid;
      PhysAddr own;
    };
    Side first{kSidA, c.pasid_a, data_page(1)}, second{kSidB, c.pasid_b, data_page(2)};
    if (!a_first) std::swap(first, second);

    Translation t1 = env.translate(first.sid, first.pasid, kIova);
    ASSERT_TRUE(t1.ok()) << fault_reason_name(t1.fault);
    EXPECT_EQ(t1.pa, first.own);
    EXPECT_FALSE(t1.from_iotlb);
    env.rec.clear();
    Translation t2 = env.translate(second.sid, second.pasid, kIova);
    ASSERT_TRUE(t2.ok()) << fault_reason_name(t2.fault);
    EXPECT_EQ(t2.from_iotlb, c.shared);
    EXPECT_EQ(t2.pa, c.shared ? first.own : second.own);
    // The hit is reported for the requester that got it.
    auto hits = env.rec.of(EventKind::CacheHit);
    size_t iotlb_hits = 0;
    for (const auto& h : hits)
      if (h.e.cache == CacheKind::Iotlb) {
        ++iotlb_hits;
        EXPECT_EQ(h.e.sid, second.sid);
      }
    EXPECT_EQ(iotlb_hits, c.shared ? 1u : 0u);
    EXPECT_EQ(env.caches().size(CacheKind::Iotlb), c.shared ? 1u : 2u);
  }
}

std::string sharing_name(const ::testing::TestParamInfo<SharingCase>& i) {
  return i.param.name;
}

INSTANTIATE_TEST_SUITE_P(Tags, IotlbSharing, ::testing::ValuesIn(sharing_cases()), sharing_name);

// -------------------------------------------------------------- PASID cache

// The PASID cache is invalidated by DID (+PASID): an invalidation naming
// another DID leaves the cached entry, which keeps translating after the
// entry in memory is gone.
TEST(PasidCache, PasidCache_InvalidationNamingOtherDidLeavesEntry) {
  Env env;
  QueueDriver q(*env.m);
  Device a = add_scalable(env, kSidA, 0, kPgttSecond, 5, kIova, data_page(1));
  ASSERT_TRUE(env.translate(kSidA, kNoPasid, kIova).ok());
  ASSERT_EQ(env.caches().pasid().size(), 1u);
  EXPECT_EQ(env.caches().pasid().begin()->second.did, 5);

  env.edit(EntryKind::PasidEntry, a.pe_pa, [](Entry& e) { e.set(Field::P, 0); });
  q.submit({desc::pasid_cache_pasid(6, 0), desc::pasid_cache_domain(6), desc::iotlb_domain(5)});
  ASSERT_EQ(q.fsts(), 0u);
  EXPECT_EQ(env.caches().pasid().size(), 1u);
  EXPECT_EQ(env.caches().size(CacheKind::Iotlb), 0u);
  Translation stale = env.translate(kSidA, kNoPasid, kIova);
  ASSERT_TRUE(stale.ok()) << fault_reason_name(stale.fault);
  EXPECT_EQ(stale.pa, data_page(1));

  // The entry's own DID does remove it.
  q.submit({desc::pasid_cache_pasid(5, 0), desc::iotlb_domain(5)});
  EXPECT_EQ(env.caches().pasid().size(), 0u);
  EXPECT_EQ(env.translate(kSidA, kNoPasid, kIova).fault, FaultReason::PasidEntryNotPresent);
}

// Spec 6.2.1 via VTD-REFERENCE.md: invalidating with the *new* DID does not
// remove an entry cached under the *old* DID.
TEST(PasidCache, PasidCache_NewDidInvalidationKeepsOldDidEntry) {
  Env env;
  QueueDriver q(*env.m);
  add_scalable(env, kSidA, 0, kPgttSecond, 5, kIova, data_page(1));
  ASSERT_TRUE(env.translate(kSidA, kNoPasid, kIova).ok());
  PageTables other = env.b->new_tables(false, 4);
  env.b->map(other, kIova, data_page(2));
  env.b->set_pasid_entry(kSidA, 0, TableBuilder::pasid_fields(kPgttSecond, 6, &other, nullptr));
  q.submit({desc::pasid_cache_pasid(6, 0), desc::iotlb_domain(6)});
  Translation t = env.translate(kSidA, kNoPasid, kIova);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.did, 5);
  EXPECT_EQ(t.pa, data_page(1));
  q.submit({desc::pasid_cache_pasid(5, 0), desc::iotlb_domain(5)});
  t = env.translate(kSidA, kNoPasid, kIova);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.did, 6);
  EXPECT_EQ(t.pa, data_page(2));
}

// ------------------------------------------------------------- caching mode

// CM=1: a not-present PASID entry may be cached, so making it present is
// not seen until a PASID-cache invalidation (Linux: PASID-selective with the
// new DID). CM=0: not-present entries are never cached.
class CachingMode : public ::testing::TestWithParam<bool /*CM*/> {
 protected:
  Config config(Config cfg) const {
    cfg.caching_mode = GetParam();
    return cfg;
  }
};

TEST_P(CachingMode, CachingMode_NotPresentPasidEntryCachedUntilInvalidated) {
  const bool cm = GetParam();
  Env env(config(Config{}));
  QueueDriver q(*env.m);
  EXPECT_EQ(bool(env.cpu().mmio_read(Reg::CAP) & cap::CM), cm);
  PageTables ss = env.b->new_tables(false, 4);
  env.b->map(ss, kIova, data_page(1));
  env.b->set_context(kSidA, ScalableContextFields{});
  const PhysAddr pe_pa = env.b->pasid_entry_pa(kSidA, 0);  // present dir entry, zero entry

  EXPECT_EQ(env.translate(kSidA, kNoPasid, kIova).fault, FaultReason::PasidEntryNotPresent);
  EXPECT_EQ(env.caches().pasid().size(), cm ? 1u : 0u);
  if (cm) EXPECT_FALSE(env.caches().pasid().begin()->second.entry.present());

  env.b->write_entry(pe_pa, encode(TableBuilder::pasid_fields(kPgttSecond, 5, &ss, nullptr)));
  Translation t = env.translate(kSidA, kNoPasid, kIova);
  EXPECT_EQ(t.fault, cm ? FaultReason::PasidEntryNotPresent : FaultReason::None);
  if (!cm) return;
  // Still not present on every further walk, until the invalidation.
  EXPECT_EQ(env.translate(kSidA, kNoPasid, kIova).fault, FaultReason::PasidEntryNotPresent);
  q.submit({desc::pasid_cache_pasid(5, 0)});
  t = env.translate(kSidA, kNoPasid, kIova);
  ASSERT_TRUE(t.ok()) << fault_reason_name(t.fault);
  EXPECT_EQ(t.pa, data_page(1));
}

// CM=1, legacy: a not-present context entry is cached under domain 0 and
// needs a context-cache invalidation (Linux: device-selective, DID 0).
TEST_P(CachingMode, CachingMode_NotPresentContextCachedUntilInvalidated) {
  const bool cm = GetParam();
  Env env(config(legacy_config()));
  QueueDriver q(*env.m);
  PageTables ss = env.b->new_tables(false, 4);
  env.b->map(ss, kIova, data_page(1));
  const PhysAddr ctx = env.b->context_entry_pa(kSidA);
  EXPECT_EQ(env.translate(kSidA, kNoPasid, kIova).fault, FaultReason::ContextNotPresent);
  EXPECT_EQ(env.caches().ctx().size(), cm ? 1u : 0u);
  env.b->write_entry(ctx, encode(TableBuilder::legacy_fields(kTtTranslate, 5, ss)));
  EXPECT_EQ(env.translate(kSidA, kNoPasid, kIova).fault,
            cm ? FaultReason::ContextNotPresent : FaultReason::None);
  if (!cm) return;
  q.submit({desc::context_device(0, kSidA)});
  Translation t = env.translate(kSidA, kNoPasid, kIova);
  ASSERT_TRUE(t.ok()) << fault_reason_name(t.fault);
  EXPECT_EQ(t.pa, data_page(1));
}

std::string cm_name(const ::testing::TestParamInfo<bool>& i) {
  return i.param ? "CM1" : "CM0";
}

INSTANTIATE_TEST_SUITE_P(Entries, CachingMode, ::testing::Bool(), cm_name);

// Without caching mode a present but faulting (reserved / invalid) entry is
// not cached either: fixing it needs no invalidation. With CM=1 it may be.
struct FaultingEntryCase {
  std::string name;
  bool scalable;
  std::function<void(Env&, const Device&)> spoil, repair;
  FaultReason fault;
};

std::vector<FaultingEntryCase> faulting_entry_cases() {
  using Edit = std::function<void(Env&, const Device&)>;
  constexpr PhysAddr Device::*kCtx = &Device::ctx_pa;
  constexpr PhysAddr Device::*kPe = &Device::pe_pa;
  // Bit `b` of the device's entry at `at` set (or cleared).
  auto bit = [](PhysAddr Device::*at, unsigned b, bool on) -> Edit {
    return [=](Env& env, const Device& d) {
      PhysAddr w = d.*at + 8 * (b / 64);
      uint64_t v = env.cpu().read64(w);
      env.cpu().write64(w, on ? v | 1ull << (b % 64) : v & ~(1ull << (b % 64)));
    };
  };
  // Field `f` of the device's entry at `at` (of kind `k`) set to `v`.
  auto field = [](EntryKind k, PhysAddr Device::*at, Field f, uint64_t v) -> Edit {
    return [=](Env& env, const Device& d) { env.edit(k, d.*at, [=](Entry& e) { e.set(f, v); }); };
  };
  const EntryKind kLegacy = EntryKind::LegacyContext, kPasid = EntryKind::PasidEntry;
  return {
      {"LegacyContextReserved", false, bit(kCtx, 4, true), bit(kCtx, 4, false),
       FaultReason::ContextReserved},
      {"LegacyContextInvalidTt", false, field(kLegacy, kCtx, Field::TT, 3),
       field(kLegacy, kCtx, Field::TT, 0), FaultReason::ContextInvalid},
      {"ScalableContextReserved", true, bit(kCtx, 6, true), bit(kCtx, 6, false),
       FaultReason::ContextReserved},
      {"PasidEntryReserved", true, bit(kPe, 300, true), bit(kPe, 300, false),
       FaultReason::PasidEntryReserved},
      {"PasidEntryInvalidPgtt", true, field(kPasid, kPe, Field::PGTT, 6),
       field(kPasid, kPe, Field::PGTT, 2), FaultReason::PasidEntryInvalid},
  };
}

void PrintTo(const FaultingEntryCase& c, std::ostream* os) {
  *os << c.name;
}

class FaultingEntry
    : public ::testing::TestWithParam<std::tuple<FaultingEntryCase, bool /*caching mode*/>> {};

TEST_P(FaultingEntry, FaultingEntry_CachedOnlyInCachingMode) {
  const auto& [c, cm] = GetParam();
  Config cfg = c.scalable ? Config{} : legacy_config();
  cfg.caching_mode = cm;
  Env env(cfg);
  QueueDriver q(*env.m);
  Device d = c.scalable ? add_scalable(env, kSidA, 0, kPgttSecond, 5, kIova, data_page(1))
                        : add_legacy(env, kSidA, kTtTranslate, 5, kIova, data_page(1));
  c.spoil(env, d);
  EXPECT_EQ(env.translate(kSidA, kNoPasid, kIova).fault, c.fault);
  c.repair(env, d);
  Translation t = env.translate(kSidA, kNoPasid, kIova);
  if (!cm) {
    ASSERT_TRUE(t.ok()) << fault_reason_name(t.fault);
    EXPECT_EQ(t.pa, data_page(1));
    return;
  }
  // CM=1 may keep the faulting entry until software invalidates it.
  if (!t.ok()) {
    EXPECT_EQ(t.fault, c.fault);
    q.submit({desc::context_global(), desc::pasid_cache_global()});
    t = env.translate(kSidA, kNoPasid, kIova);
  }
  ASSERT_TRUE(t.ok()) << fault_reason_name(t.fault);
}

std::string faulting_name(const ::testing::TestParamInfo<std::tuple<FaultingEntryCase, bool>>& i) {
  return std::get<0>(i.param).name + (std::get<1>(i.param) ? "_CM1" : "_CM0");
}

INSTANTIATE_TEST_SUITE_P(Entries, FaultingEntry,
                         ::testing::Combine(::testing::ValuesIn(faulting_entry_cases()),
                                            ::testing::Bool()),
                         faulting_name);

// ------------------------------------------------ paging-structure caches

// A paging-structure-cache hit skips the upper levels but keeps their
// permissions (spec 6.2.4: cached entries carry the combined R/W rights).
TEST(PagingStructureCache, Psc_HitKeepsUpperLevelWriteProtection) {
  Env env;
  Device d = add_scalable(env, kSidA, 0, kPgttSecond, 5, kIova, data_page(1));
  env.b->map(d.ss, kIova + kPageSize, data_page(2));  // same leaf table
  const PhysAddr l3 = env.b->pte_pa(d.ss, kIova, 3);
  env.edit(EntryKind::SsPte, l3, [](Entry& e) { e.set(Field::W, 0); });

  Translation r = env.translate(kSidA, kNoPasid, kIova, Access::Read);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.writable);
  Translation w = env.translate(kSidA, kNoPasid, kIova + kPageSize, Access::Write);
  EXPECT_EQ(w.fault, FaultReason::WriteDenied);
  Translation r2 = env.translate(kSidA, kNoPasid, kIova + kPageSize, Access::Read);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2.pa, data_page(2));
  EXPECT_FALSE(r2.writable);
}

TEST(PagingStructureCache, Psc_HitSkipsUpperLevels) {
  Env env;
  Device d = add_scalable(env, kSidA, 0, kPgttSecond, 5, kIova, data_page(1));
  env.b->map(d.ss, kIova + kPageSize, data_page(2));
  ASSERT_TRUE(env.translate(kSidA, kNoPasid, kIova).ok());
  env.rec.clear();
  Translation t = env.translate(kSidA, kNoPasid, kIova + kPageSize, Access::Write);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t.writable);
  EXPECT_EQ(t.pa, data_page(2));
  size_t pte_reads = 0, psc_hits = 0;
  for (const auto& r : env.rec.events) {
    pte_reads += r.e.kind == EventKind::Read && r.e.entry_kind == EntryKind::SsPte;
    psc_hits += r.e.kind == EventKind::CacheHit && r.e.cache == CacheKind::Psc;
  }
  EXPECT_EQ(pte_reads, 1u);
  EXPECT_EQ(psc_hits, 1u);
}

// One IOTLB entry covers a whole large page: another 4 KiB page inside the
// same 2 MiB / 1 GiB page hits it and gets its own offset.
TEST(IotlbLargePage, Iotlb_LargePageEntryCoversWholePage) {
  for (uint8_t level : {2, 3}) {
    SCOPED_TRACE(level == 2 ? "2 MiB" : "1 GiB");
    Env env;
    PageTables ss = env.b->new_tables(false, 4);
    const Iova base = 0x80000000ull;  // 1 GiB aligned
    const PhysAddr frame = level == 2 ? 0x400000 : 0;
    env.b->map(ss, base, frame, MapOpts{level, true});
    env.b->set_context(kSidA, ScalableContextFields{});
    env.b->set_pasid_entry(kSidA, 0, TableBuilder::pasid_fields(kPgttSecond, 5, &ss, nullptr));
    Translation t1 = env.translate(kSidA, kNoPasid, base + 0x3008);
    ASSERT_TRUE(t1.ok());
    EXPECT_EQ(t1.pa, frame + 0x3008);
    EXPECT_EQ(env.caches().size(CacheKind::Iotlb), 1u);
    EXPECT_EQ(env.caches().iotlb().begin()->first.level, level);
    const Iova other = base + level_span(level) - kPageSize + 0x10;  // last 4 KiB of the page
    Translation t2 = env.translate(kSidA, kNoPasid, other);
    ASSERT_TRUE(t2.ok());
    EXPECT_TRUE(t2.from_iotlb);
    EXPECT_EQ(t2.pa, frame + (other - base));
    EXPECT_EQ(env.caches().size(CacheKind::Iotlb), 1u);
    // The next large page is not covered.
    EXPECT_FALSE(env.translate(kSidA, kNoPasid, base + level_span(level)).from_iotlb);
  }
}

// -------------------------------------------------------------- eviction

// The hardware may evict any line at any time (a schedule choice): the next
// request walks the tables again.
TEST(CacheEviction, Evict_NextRequestWalksAgain) {
  Env env;
  add_scalable(env, kSidA, 0, kPgttSecond, 5, kIova, data_page(1));
  ASSERT_TRUE(env.translate(kSidA, kNoPasid, kIova).ok());
  EXPECT_TRUE(env.translate(kSidA, kNoPasid, kIova).from_iotlb);
  for (CacheKind k : {CacheKind::Iotlb, CacheKind::Psc, CacheKind::Pasid, CacheKind::Context}) {
    size_t n = env.caches().size(k);
    ASSERT_GT(n, 0u) << cache_kind_name(k);
    while (env.iommu().evict(k, 0)) {
    }
    EXPECT_EQ(env.caches().size(k), 0u);
  }
  EXPECT_FALSE(env.iommu().evict(CacheKind::Iotlb, 0));
  env.rec.clear();
  Translation t = env.translate(kSidA, kNoPasid, kIova);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t.from_iotlb);
  EXPECT_EQ(env.rec.count(EventKind::EntryFetched), 4u);  // root, context, dir, PASID entry
}

// An eviction event names the line it evicted (its tag fields), as fills
// and invalidations do: a trace shows which translation the hardware lost.
TEST(CacheEviction, EvictEvent_NamesTheEvictedLine) {
  Env env;
  add_scalable(env, kSidA, 0, kPgttSecond, 5, kIova, data_page(1));
  ASSERT_TRUE(env.translate(kSidA, kNoPasid, kIova).ok());
  env.rec.clear();
  ASSERT_TRUE(env.iommu().evict(CacheKind::Iotlb, 0));
  ASSERT_TRUE(env.iommu().evict(CacheKind::Pasid, 0));
  ASSERT_TRUE(env.iommu().evict(CacheKind::Context, 0));
  std::vector<Recorder::Rec> ev;
  for (const Recorder::Rec& r : env.rec.events)
    if (r.e.kind == EventKind::CacheEvict) ev.push_back(r);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].e.did, 5);
  EXPECT_EQ(ev[0].e.iova, kIova & ~(kPageSize - 1));
  ASSERT_TRUE(ev[0].xlat.has_value());
  EXPECT_EQ(ev[0].xlat->pa, data_page(1));
  EXPECT_EQ(ev[1].e.sid, kSidA);
  EXPECT_EQ(ev[1].e.did, 5);
  ASSERT_TRUE(ev[1].entry.has_value());
  EXPECT_EQ(ev[1].entry->get(Field::DID), 5u);
  EXPECT_EQ(ev[2].e.sid, kSidA);
}

}  // namespace
}  // namespace vtd::sim

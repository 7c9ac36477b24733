// Invalidation rules (VTD-REFERENCE.md "What software must do", spec
// 6.5.3.3), checked on the recorded interleaving of what the hardware can
// see (every value the entry takes in the hardware's view of memory) and the
// descriptors the queue processes, for the writers that must follow them:
// teardown-replace, entry-sync and entry-sync-tempdid. Each move runs on the
// four store/coherency variants, with and without ATS, with stores in
// program order and with every store delayed as far as the model allows.
#include <gtest/gtest.h>

#include <tuple>

#include "tests/driver/domains.h"
#include "tests/driver/driver_test_util.h"

namespace vtd::drvtest {
namespace {

const Sid kDev(0, 2, 0);
const Sid kOther(0, 5, 0);  // keeps the bus's context table (and DID users) alive
constexpr size_t npos = std::string::npos;

// (timeline index, value) of every value one watched entry took.
std::vector<std::pair<size_t, Entry>> values(const Timeline& tl, int slot) {
  std::vector<std::pair<size_t, Entry>> v;
  for (size_t i = 0; i < tl.items.size(); ++i)
    if (tl.items[i].kind == Timeline::Item::Value && tl.items[i].slot == slot)
      v.push_back({i, tl.items[i].value});
  return v;
}

// The entry-cache invalidation the rules name for a value of the entry:
// PASID-selective with its DID, or device-selective with its DID (legacy).
bool entry_cache_for(const Descriptor& d, const Entry& v, Sid sid, uint32_t pasid) {
  const uint16_t did = uint16_t(v.get(Field::DID));
  if (v.kind == EntryKind::PasidEntry) return pasid_cache_selective(d, did, pasid);
  return context_device_selective(d, did, sid);
}

// Two values translate alike when tag and tables agree (then cached
// translations of one are valid for the other).
bool same_translation(const Entry& a, const Entry& b) {
  for (Field f : {Field::DID, Field::PGTT, Field::TT, Field::SSPTPTR, Field::FSPTPTR, Field::AW,
                  Field::FSPM}) {
    const bool used_a = sim::used_bits(a).get(f) != 0, used_b = sim::used_bits(b).get(f) != 0;
    if (used_a != used_b || (used_a && a.get(f) != b.get(f))) return false;
  }
  return true;
}

struct Recording {
  std::unique_ptr<Rig> r;
  int entry_slot = -1, ctx_slot = -1;
  uint32_t pasid = 0;
  bool ats = false;
};

// Sets up the move's starting point, records the move, and checks that
// afterwards the device reaches the target through the caches (P4).
void RecordMove(Recording& run, const Platform& p, const std::string& writer, const Move& mv,
                bool ats, uint32_t delay) {
  run.r = std::make_unique<Rig>(p, writer);
  Rig& r = *run.r;
  run.pasid = mv.pasid();
  run.ats = ats;
  ASSERT_EQ(r.init_status, Status::Ok);
  ASSERT_EQ(r.add_device(kDev, ats, p.scalable), Status::Ok);
  ASSERT_EQ(r.add_device(kOther, false, p.scalable), Status::Ok);
  ASSERT_EQ(alloc_domains(r), Status::Ok);
  ASSERT_EQ(r.d.attach(kOther, dom_id(Dom::Parent)), Status::Ok);
  if (mv.where == Where::Pasid) ASSERT_EQ(r.d.attach(kDev, dom_id(Dom::Parent)), Status::Ok);
  if (mv.from != Dom::None) ASSERT_EQ(apply(r, kDev, mv.where, Dom::None, mv.from), Status::Ok);
  // Warm the caches (with caching mode, not-present entries too).
  r.dma_read(kDev, run.pasid, kIova);

  r.tl.set_store_delay(delay);
  run.entry_slot = r.watch_entry(kDev, run.pasid);
  if (p.scalable) run.ctx_slot = r.watch_context(kDev);
  r.tl.start();
  const Status s = apply(r, kDev, mv);
  r.tl.stop();
  ASSERT_EQ(s, Status::Ok) << mv.op();
  ASSERT_EQ(r.m.iommu.queue().fsts(), 0u);
  const auto vals = values(r.tl, run.entry_slot);
  ASSERT_EQ(vals.back().second, r.hw_entry(kDev, run.pasid));
  SCOPED_TRACE("after the op, through the caches");
  ExpectDma(r, kDev, run.pasid, mv.to, 0x5a5a);
}

using RuleParam = std::tuple<std::string, Move>;  // writer, move

// A rule's suite: each test checks one writer on one move.
class RuleTest : public ::testing::TestWithParam<RuleParam> {
 protected:
  // Runs `check` on the move recorded on every platform variant x ATS x
  // store delay.
  void ForEachVariant(bool cm, const std::function<void(const Recording&)>& check) {
    const auto& [writer, mv] = GetParam();
    for (const Platform& p : store_variants(mv.scalable, cm))
      for (bool ats : {false, true})
        for (uint32_t delay : {0u, 7u}) {
          SCOPED_TRACE(p.name() + (ats ? " ats" : " no-ats") +
                       " store-delay=" + std::to_string(delay));
          Recording run;
          RecordMove(run, p, writer, mv, ats, delay);
          if (HasFatalFailure()) return;
          check(run);
          if (HasFatalFailure()) return;
        }
  }
};

// Every value the entry held that the hardware may have cached and that
// differs from the final one is invalidated after it stopped being visible:
// its entry cache (with its DID), then, unless it translated like the final
// value, the IOTLB (its DID; PASID-based for first-stage / pass-through,
// domain-selective for second-stage / nested / legacy), then the device-TLB.
// The old value is one of them; so is any intermediate value that already
// carried the new DID.
void ExpectEveryStaleValueInvalidated(const Recording& run, const Sid sid) {
  const Timeline& tl = run.r->tl;
  const auto vals = values(tl, run.entry_slot);
  const Entry& final_value = vals.back().second;
  for (size_t k = 0; k + 1 < vals.size(); ++k) {
    const Entry& v = vals[k].second;
    if (!v.present() || sim::config_of(v) == sim::config_of(final_value)) continue;
    SCOPED_TRACE("stale value " + v.str() + "\n" + tl.str());
    const size_t gone = vals[k + 1].first;
    const size_t a = find_desc(
        tl, gone, [&](const Descriptor& d) { return entry_cache_for(d, v, sid, run.pasid); });
    ASSERT_NE(a, npos) << "no entry-cache invalidation naming its DID after it left";
    if (same_translation(v, final_value)) continue;
    const size_t b =
        find_desc(tl, a, [&](const Descriptor& d) { return iotlb_for_entry(d, v, run.pasid); });
    ASSERT_NE(b, npos) << "no IOTLB invalidation of its DID after the entry-cache one";
    if (!run.ats) continue;
    const size_t c =
        find_desc(tl, b, [&](const Descriptor& d) { return devtlb_all_for(d, sid, run.pasid); });
    ASSERT_NE(c, npos) << "no device-TLB invalidation after the IOTLB one";
  }
}

// Teardown of a present entry: the first visible change clears P and
// nothing else; then the entry cache (old DID), the IOTLB (old DID), the
// device-TLB; only after those is the rest zeroed.
void ExpectClearFlushZero(const Recording& run, const Sid sid) {
  const Timeline& tl = run.r->tl;
  SCOPED_TRACE(tl.str());
  const auto vals = values(tl, run.entry_slot);
  ASSERT_GE(vals.size(), 3u) << "expected old -> P cleared -> zeroed";
  const Entry& old = vals[0].second;
  ASSERT_TRUE(old.present());
  Entry cleared = old;
  cleared.set(Field::P, 0);
  EXPECT_EQ(vals[1].second, cleared) << "the first visible store must clear P only";
  const size_t t_clear = vals[1].first, t_zero = vals[2].first;
  const size_t a = find_desc(
      tl, t_clear, [&](const Descriptor& d) { return entry_cache_for(d, old, sid, run.pasid); });
  ASSERT_LT(a, t_zero) << "entry-cache invalidation (old DID) between clearing P and zeroing";
  const size_t b =
      find_desc(tl, a, [&](const Descriptor& d) { return iotlb_for_entry(d, old, run.pasid); });
  ASSERT_LT(b, t_zero) << "IOTLB invalidation (old DID) after it, before zeroing";
  if (run.ats) {
    const size_t c =
        find_desc(tl, b, [&](const Descriptor& d) { return devtlb_all_for(d, sid, run.pasid); });
    ASSERT_LT(c, t_zero) << "device-TLB invalidation after the IOTLB, before zeroing";
  }
  const Entry& last = vals.back().second;
  for (int i = 0; i < sim::format_of(last.kind).words; ++i)
    EXPECT_EQ(last.w[size_t(i)], 0u) << "word " << i << " not zeroed";
}

std::string rule_param_name(const ::testing::TestParamInfo<RuleParam>& info) {
  return param_name(std::get<0>(info.param) + "_" + std::get<1>(info.param).name());
}

// Every rule writer on every move `pred` selects.
std::vector<RuleParam> rule_params(const std::function<bool(const Move&)>& pred) {
  std::vector<RuleParam> v;
  for (const std::string& w : rule_writers())
    for (const Move& m : all_moves())
      if (pred(m)) v.emplace_back(w, m);
  return v;
}

// ------------------------------------------------------------- teardown --

class Teardown : public RuleTest {};

TEST_P(Teardown, ClearsPresentThenFlushesOldDidThenZeroes) {
  ForEachVariant(false, [&](const Recording& run) {
    ExpectClearFlushZero(run, kDev);
    ExpectEveryStaleValueInvalidated(run, kDev);
  });
}

INSTANTIATE_TEST_SUITE_P(Rules, Teardown, ::testing::ValuesIn(rule_params([](const Move& m) {
                           return m.from != Dom::None && m.to == Dom::None;
                         })),
                         rule_param_name);

// -------------------------------------------------------------- replace --

class Replace : public RuleTest {};

TEST_P(Replace, InvalidatesEveryStaleValueOldAndIntermediateDids) {
  ForEachVariant(false, [&](const Recording& run) { ExpectEveryStaleValueInvalidated(run, kDev); });
}

INSTANTIATE_TEST_SUITE_P(Rules, Replace, ::testing::ValuesIn(rule_params([](const Move& m) {
                           return m.from != Dom::None && m.to != Dom::None;
                         })),
                         rule_param_name);

// ----------------------------------------------- legacy context change --

class LegacyContextChange : public RuleTest {};

// Change a legacy context entry: context-cache (device-selective, old DID)
// -> IOTLB (domain-selective, old DID) -> device-TLB, after the change.
TEST_P(LegacyContextChange, FlushesContextThenIotlbThenDevTlbWithOldDid) {
  ForEachVariant(false, [&](const Recording& run) {
    const Timeline& tl = run.r->tl;
    SCOPED_TRACE(tl.str());
    const auto vals = values(tl, run.entry_slot);
    ASSERT_GE(vals.size(), 2u);
    const Entry& old = vals[0].second;
    const uint16_t old_did = uint16_t(old.get(Field::DID));
    const size_t a = find_desc(tl, vals[1].first, [&](const Descriptor& d) {
      return context_device_selective(d, old_did, kDev);
    });
    ASSERT_NE(a, npos) << "context-cache device-selective invalidation with the old DID";
    const size_t b =
        find_desc(tl, a, [&](const Descriptor& d) { return iotlb_domain(d, old_did); });
    ASSERT_NE(b, npos) << "then IOTLB domain-selective with the old DID";
    if (run.ats) {
      const size_t c = find_desc(
          tl, b, [&](const Descriptor& d) { return devtlb_all_for(d, kDev, sim::kNoPasid); });
      ASSERT_NE(c, npos) << "then the device-TLB";
    }
    ExpectEveryStaleValueInvalidated(run, kDev);
  });
}

INSTANTIATE_TEST_SUITE_P(Rules, LegacyContextChange,
                         ::testing::ValuesIn(rule_params([](const Move& m) {
                           return !m.scalable && m.from != Dom::None;
                         })),
                         rule_param_name);

// --------------------------------------------------------------- attach --

class Attach : public RuleTest {};

TEST_P(Attach, NotPresentToPresentNeedsNoInvalidationWithoutCachingMode) {
  ForEachVariant(false, [&](const Recording& run) {
    EXPECT_TRUE(run.r->tl.descriptors().empty()) << run.r->tl.str();
  });
}

// With CM=1 the hardware may have cached the not-present entry (the warm-up
// DMA faulted on it): after the entry becomes present its entry cache and
// the IOTLB of the new DID are invalidated. A not-present legacy context
// entry is cached under DID 0 (Linux context_present_cache_flush()); a
// scalable context entry that became present is invalidated by source-id.
TEST_P(Attach, NotPresentToPresentInvalidatesWithCachingMode) {
  ForEachVariant(true, [&](const Recording& run) {
    const Timeline& tl = run.r->tl;
    SCOPED_TRACE(tl.str());
    const auto vals = values(tl, run.entry_slot);
    const Entry& final_value = vals.back().second;
    ASSERT_TRUE(final_value.present());
    size_t t_present = npos;
    for (const auto& [i, v] : vals)
      if (v.present()) {
        t_present = i;
        break;
      }
    const uint16_t did = uint16_t(final_value.get(Field::DID));
    const size_t a = find_desc(tl, t_present, [&](const Descriptor& d) {
      return final_value.kind == EntryKind::PasidEntry ? pasid_cache_selective(d, did, run.pasid)
                                                       : context_device_selective(d, 0, kDev);
    });
    ASSERT_NE(a, npos) << "entry-cache invalidation after the entry became present";
    const size_t b = find_desc(
        tl, a, [&](const Descriptor& d) { return iotlb_for_entry(d, final_value, run.pasid); });
    ASSERT_NE(b, npos) << "IOTLB invalidation of the new DID";
    if (run.ctx_slot >= 0) {
      const auto ctx = values(tl, run.ctx_slot);
      if (!ctx.front().second.present() && ctx.back().second.present()) {
        size_t t_ctx = npos;
        for (const auto& [i, v] : ctx)
          if (v.present()) {
            t_ctx = i;
            break;
          }
        ASSERT_NE(
            find_desc(tl, t_ctx, [&](const Descriptor& d) { return context_covers_sid(d, kDev); }),
            npos)
            << "context-cache invalidation after the context entry became present";
      }
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Rules, Attach, ::testing::ValuesIn(rule_params([](const Move& m) {
                           return m.from == Dom::None;
                         })),
                         rule_param_name);

// ------------------------------------------- intended bugs stay visible --

// B9: the legacy writer replaces a legacy-mode context entry without the
// device-selective context-cache invalidation; the context cache keeps the
// old entry (the reason the matrix reads memory for this writer).
TEST(IntendedBugs, LegacyWriterSkipsContextCacheInvalidationOnLegacyReplace_B9) {
  Recording run;
  const Move mv{false, Where::Rid, Dom::SsA, Dom::SsB};
  run.r = std::make_unique<Rig>(Platform{false}, "legacy");
  Rig& r = *run.r;
  ASSERT_EQ(r.add_device(kDev, false, false), Status::Ok);
  ASSERT_EQ(alloc_domains(r), Status::Ok);
  ASSERT_EQ(apply(r, kDev, Where::Rid, Dom::None, Dom::SsA), Status::Ok);
  const uint16_t old_did = r.d.did_of(dom_id(Dom::SsA));
  ASSERT_TRUE(r.translate(kDev, drv::kRidPasid, kIova).ok());
  r.tl.start();
  ASSERT_EQ(apply(r, kDev, mv), Status::Ok);
  r.tl.stop();
  EXPECT_EQ(
      find_desc(r.tl, 0,
                [&](const Descriptor& d) { return context_device_selective(d, old_did, kDev); }),
      npos);
  EXPECT_EQ(r.translate(kDev, drv::kRidPasid, kIova).pa, dom_pa(Dom::SsA)) << "stale context cache";
}

}  // namespace
}  // namespace vtd::drvtest

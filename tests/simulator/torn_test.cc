// Torn reads (DESIGN.md section 4, "Walker"; seeds/001): the hardware may
// fetch a 512-bit PASID entry as four 128-bit quanta, in any order, parked
// between them. A change spread over two chunks can then be assembled half
// old, half new; a change confined to one chunk cannot.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/simulator/sim_test_util.h"

namespace vtd::sim {
namespace {

using namespace testutil;

constexpr Iova kIova = 0x12345000;
const Sid kSid(0, 2, 0);

// Tables both sides of a transition can point at.
struct Tables {
  PageTables ss_a, ss_b, fs_a, fs_b;
};

struct Transition {
  std::string name;
  std::function<Entry(const Tables&)> old_entry, new_entry;
};

Entry pe(uint8_t pgtt, uint16_t did, const PageTables* ss, const PageTables* fs) {
  return encode(TableBuilder::pasid_fields(pgtt, did, ss, fs));
}
Entry none() {
  return Entry(EntryKind::PasidEntry);
}

std::vector<Transition> transitions() {
  using T = const Tables&;
  return {
      // Changes spanning chunk 0 (P, PGTT, DID) and chunk 1 (FS fields).
      {"FirstStageTeardown", [](T t) { return pe(kPgttFirst, 5, nullptr, &t.fs_a); },
       [](T) { return none(); }},
      {"NestedTeardown", [](T t) { return pe(kPgttNested, 5, &t.ss_a, &t.fs_a); },
       [](T) { return none(); }},
      {"FirstStageSetup", [](T) { return none(); },
       [](T t) { return pe(kPgttFirst, 5, nullptr, &t.fs_a); }},
      {"FirstStageReplaceNewDid", [](T t) { return pe(kPgttFirst, 5, nullptr, &t.fs_a); },
       [](T t) { return pe(kPgttFirst, 6, nullptr, &t.fs_b); }},
      {"SecondToFirstStage", [](T t) { return pe(kPgttSecond, 5, &t.ss_a, nullptr); },
       [](T t) { return pe(kPgttFirst, 5, nullptr, &t.fs_b); }},
      {"NestedReplaceBothTables", [](T t) { return pe(kPgttNested, 5, &t.ss_a, &t.fs_a); },
       [](T t) { return pe(kPgttNested, 5, &t.ss_b, &t.fs_b); }},
      // Changes inside one chunk.
      {"SecondStageTeardown", [](T t) { return pe(kPgttSecond, 5, &t.ss_a, nullptr); },
       [](T) { return none(); }},
      {"SecondStageSetup", [](T) { return none(); },
       [](T t) { return pe(kPgttSecond, 5, &t.ss_a, nullptr); }},
      {"SecondStageReplaceTable", [](T t) { return pe(kPgttSecond, 5, &t.ss_a, nullptr); },
       [](T t) { return pe(kPgttSecond, 5, &t.ss_b, nullptr); }},
      {"SecondStageReplaceNewDid", [](T t) { return pe(kPgttSecond, 5, &t.ss_a, nullptr); },
       [](T t) { return pe(kPgttSecond, 6, &t.ss_b, nullptr); }},
      {"FirstStageReplaceSameDid", [](T t) { return pe(kPgttFirst, 5, nullptr, &t.fs_a); },
       [](T t) { return pe(kPgttFirst, 5, nullptr, &t.fs_b); }},
      {"PassThroughToSecondStage", [](T) { return pe(kPgttPassThrough, 1, nullptr, nullptr); },
       [](T t) { return pe(kPgttSecond, 1, &t.ss_a, nullptr); }},
  };
}

int changed_chunks(const Entry& a, const Entry& b) {
  int n = 0;
  for (int c = 0; c < 4; ++c) n += a.w[2 * c] != b.w[2 * c] || a.w[2 * c + 1] != b.w[2 * c + 1];
  return n;
}

void PrintTo(const Transition& t, std::ostream* os) {
  *os << t.name;
}

class PasidEntryTear : public ::testing::TestWithParam<Transition> {};

// Enumerates every fetch order of the four chunks (schedule choice), every
// split point (quanta fetched before the CPU stores), how many of the four
// write128 stores land while the walk is parked, and both store orders.
TEST_P(PasidEntryTear, PasidEntry_FourChunkStoresTearOnlyAcrossChunks) {
  Env env;
  TableBuilder& b = *env.b;
  ScriptedSchedule sched;
  env.m->set_schedule(&sched);

  Tables t;
  t.ss_a = b.new_tables(false, 4);
  t.ss_b = b.new_tables(false, 4);
  t.fs_a = b.new_tables(true, 4);
  t.fs_b = b.new_tables(true, 4);
  b.map(t.ss_a, kIova, data_page(1));
  b.map(t.ss_b, kIova, data_page(2));
  b.map(t.fs_a, kIova, data_page(3));
  b.map(t.fs_b, kIova, data_page(4));
  b.set_context(kSid, ScalableContextFields{});
  const Entry old_e = GetParam().old_entry(t);
  const Entry new_e = GetParam().new_entry(t);
  const PhysAddr pa = b.set_pasid_entry(kSid, 0, old_e, StoreKind::Atomic128);
  const bool multi = changed_chunks(old_e, new_e) > 1;
  ASSERT_GE(changed_chunks(old_e, new_e), 1);

  const WalkRequest req{kSid, kNoPasid, kIova, Access::Read};
  auto store_chunk = [&](int c) {
    env.cpu().write128(pa + 16 * c, new_e.w[2 * c], new_e.w[2 * c + 1]);
  };

  size_t torn = 0, runs = 0;
  std::set<std::vector<uint32_t>> orders;
  for (uint32_t perm = 0; perm < 6; ++perm)
    for (int split = 1; split <= 3; ++split)
      for (int stores = 0; stores <= 4; ++stores)
        for (bool backward : {false, true}) {
          SCOPED_TRACE("perm " + std::to_string(perm) + " split " + std::to_string(split) +
                       " stores " + std::to_string(stores) + (backward ? " backward" : ""));
          b.write_entry(pa, old_e, StoreKind::Atomic128);
          env.flush_caches();
          env.rec.clear();
          sched.chunk_order = perm;

          Walk w;
          env.iommu().start_walk(w, req);
          env.iommu().run_walk(w, split);
          if (!old_e.present()) {
            // The quantum holding P comes first: a fetch that finds P=0 stops
            // there, so a "P last" setup can never be seen half-done.
            ASSERT_TRUE(w.done());
            ASSERT_FALSE(w.result().ok());
            for (int i = 0; i < 4; ++i) store_chunk(i);
            ++runs;
            continue;
          }
          ASSERT_TRUE(w.parked());
          ASSERT_EQ(w.entry_kind(), EntryKind::PasidEntry);
          ASSERT_EQ(w.quanta_fetched(), split);
          std::vector<uint32_t> early;
          for (const auto& r : env.rec.of(EventKind::Read))
            if (r.e.entry_kind == EntryKind::PasidEntry) early.push_back(r.e.count);
          ASSERT_EQ(early.size(), size_t(split));

          std::vector<int> order = {0, 1, 2, 3};
          if (backward) order = {3, 2, 1, 0};
          for (int i = 0; i < stores; ++i) store_chunk(order[i]);
          env.iommu().run_walk(w);  // resume
          ASSERT_TRUE(w.done());
          for (int i = stores; i < 4; ++i) store_chunk(order[i]);

          std::vector<uint32_t> all;
          for (const auto& r : env.rec.of(EventKind::Read))
            if (r.e.entry_kind == EntryKind::PasidEntry) all.push_back(r.e.count);
          ASSERT_EQ(all.size(), 4u);
          if (split == 3 && stores == 0 && !backward) orders.insert(all);

          // The assembled entry: chunks read before the stores are old, the
          // rest are new if their store landed while the walk was parked.
          auto got = env.rec.last_fetched(EntryKind::PasidEntry);
          ASSERT_TRUE(got);
          Entry want = old_e;
          for (int c = 0; c < 4; ++c) {
            bool read_early = std::find(early.begin(), early.end(), uint32_t(c)) != early.end();
            bool stored =
                std::find(order.begin(), order.begin() + stores, c) != order.begin() + stores;
            if (!read_early && stored) {
              want.w[2 * c] = new_e.w[2 * c];
              want.w[2 * c + 1] = new_e.w[2 * c + 1];
            }
          }
          ASSERT_EQ(got->hex(), want.hex());
          ++runs;
          bool is_torn = config_of(*got) != config_of(old_e) && config_of(*got) != config_of(new_e);
          torn += is_torn;
          if (!multi) ASSERT_FALSE(is_torn) << "torn: " << got->str();
        }
  // The schedule really chose among the 3! orders of the chunks after chunk 0
  // (the one holding P, always fetched first).
  if (old_e.present()) {
    EXPECT_EQ(orders.size(), 6u);
    for (const auto& o : orders) EXPECT_EQ(o.front(), 0u);
  }
  EXPECT_EQ(runs, 6u * 3 * 5 * 2);
  // With chunk 0 (P) read first and old, a tear is an entry mixing the old
  // chunk 0 with some new later chunks that matches neither configuration.
  bool tearable = false;
  for (int mask = 1; mask < 8 && old_e.present(); ++mask) {
    Entry e = old_e;
    for (int c = 1; c < 4; ++c)
      if (mask >> (c - 1) & 1) e.w[2 * c] = new_e.w[2 * c], e.w[2 * c + 1] = new_e.w[2 * c + 1];
    tearable |= config_of(e) != config_of(old_e) && config_of(e) != config_of(new_e);
  }
  if (tearable)
    EXPECT_GT(torn, 0u) << "a change across chunks must be observable half-done";
  else
    EXPECT_EQ(torn, 0u);
}

std::string transition_name(const ::testing::TestParamInfo<Transition>& i) {
  return i.param.name;
}

INSTANTIATE_TEST_SUITE_P(Transitions, PasidEntryTear, ::testing::ValuesIn(transitions()),
                         transition_name);

// A concrete tear: first-stage teardown, walk parked after chunk 0. The
// assembled entry is present, first-stage, with a zero table pointer.
TEST(PasidEntryTearExample, PasidEntry_TeardownSplitAfterChunk0AssemblesPresentEntryWithoutTable) {
  Env env;
  TableBuilder& b = *env.b;
  PageTables fs = b.new_tables(true, 4);
  b.map(fs, kIova, data_page(3));
  b.set_context(kSid, ScalableContextFields{});
  const Entry old_e = pe(kPgttFirst, 5, nullptr, &fs);
  const PhysAddr pa = b.set_pasid_entry(kSid, 0, old_e, StoreKind::Atomic128);
  ASSERT_TRUE(env.translate(kSid, kNoPasid, kIova).ok());
  env.flush_caches();
  env.rec.clear();

  Walk w;
  env.iommu().start_walk(w, WalkRequest{kSid, kNoPasid, kIova, Access::Read});
  env.iommu().run_walk(w, 1);
  ASSERT_TRUE(w.parked());
  for (int c = 0; c < 4; ++c) env.cpu().write128(pa + 16 * c, 0, 0);
  env.iommu().run_walk(w);
  ASSERT_TRUE(w.done());
  auto got = env.rec.last_fetched(EntryKind::PasidEntry);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->present());
  EXPECT_EQ(got->get(Field::PGTT), kPgttFirst);
  EXPECT_EQ(got->get(Field::DID), 5u);
  EXPECT_EQ(got->get(Field::FSPTPTR), 0u);
  EXPECT_NE(config_of(*got), config_of(old_e));
  EXPECT_NE(config_of(*got), config_of(Entry(EntryKind::PasidEntry)));
  // Neither the old translation nor the not-present fault of the new entry.
  EXPECT_FALSE(w.result().ok() && w.result().pa == data_page(3));
  EXPECT_NE(w.result().fault, FaultReason::PasidEntryNotPresent);
}

// With 64-bit quanta a 128-bit store no longer protects a chunk: a DID
// change (chunk 0 only) is seen with the old table pointer and the new DID.
TEST(PasidEntryTearQuanta, PasidEntry_SingleChunkChangeTearsWith64BitQuanta) {
  for (uint8_t qbits : {64, 128}) {
    SCOPED_TRACE(std::to_string(qbits) + "-bit quanta");
    Config cfg;
    cfg.quantum_bits = qbits;
    Env env(cfg);
    TableBuilder& b = *env.b;
    PageTables a = b.new_tables(false, 4), c = b.new_tables(false, 4);
    b.map(a, kIova, data_page(1));
    b.map(c, kIova, data_page(2));
    b.set_context(kSid, ScalableContextFields{});
    const Entry old_e = pe(kPgttSecond, 5, &a, nullptr);
    const Entry new_e = pe(kPgttSecond, 6, &c, nullptr);
    ASSERT_EQ(changed_chunks(old_e, new_e), 1);
    const PhysAddr pa = b.set_pasid_entry(kSid, 0, old_e, StoreKind::Atomic128);

    Walk w;
    env.iommu().start_walk(w, WalkRequest{kSid, kNoPasid, kIova, Access::Read});
    // Park after the first quantum of the PASID entry (with 64-bit quanta
    // the root and context entries park too: step past them).
    do env.iommu().run_walk(w, 1);
    while (!w.done() && !(w.parked() && w.entry_kind() == EntryKind::PasidEntry));
    ASSERT_TRUE(w.parked());
    ASSERT_EQ(w.quanta_fetched(), 1);
    env.cpu().write128(pa, new_e.w[0], new_e.w[1]);
    env.iommu().run_walk(w);
    auto got = env.rec.last_fetched(EntryKind::PasidEntry);
    ASSERT_TRUE(got);
    bool torn = config_of(*got) != config_of(old_e) && config_of(*got) != config_of(new_e);
    EXPECT_EQ(torn, qbits == 64) << got->str();
    if (qbits == 64) {
      EXPECT_EQ(got->get(Field::SSPTPTR), a.ptr());
      EXPECT_EQ(got->get(Field::DID), 6u);
    }
  }
}

// Legacy context entries are one 128-bit quantum: only the CPU can tear
// them, by writing the two halves with separate stores (B1).
TEST(LegacyContextTear, LegacyContext_TwoPlainStoresTearOneAtomicStoreDoesNot) {
  for (bool atomic : {false, true}) {
    SCOPED_TRACE(atomic ? "write128" : "two write64");
    Env env(legacy_config());
    TableBuilder& b = *env.b;
    ScriptedSchedule sched;
    env.m->set_schedule(&sched);
    PageTables a = b.new_tables(false, 4), c = b.new_tables(false, 4);
    b.map(a, kIova, data_page(1));
    b.map(c, kIova, data_page(2));
    const Entry old_e = encode(TableBuilder::legacy_fields(kTtTranslate, 5, a));
    const Entry new_e = encode(TableBuilder::legacy_fields(kTtTranslate, 6, c));
    const PhysAddr pa = b.context_entry_pa(kSid);
    b.write_entry(pa, old_e);
    // At every store that becomes visible, the hardware walks once.
    std::vector<Entry> seen;
    sched.on_preempt = [&](const PreemptPoint& p) {
      if (p.kind != PointKind::Store || page_of(p.pa) != page_of(pa)) return;
      env.flush_caches();
      env.iommu().translate(WalkRequest{kSid, kNoPasid, kIova, Access::Read});
      seen.push_back(*env.rec.last_fetched(EntryKind::LegacyContext));
    };
    b.write_entry(pa, new_e, atomic ? StoreKind::Atomic128 : StoreKind::Plain64);
    sched.on_preempt = nullptr;
    ASSERT_EQ(seen.size(), atomic ? 1u : 2u);
    bool torn = false;
    for (const Entry& e : seen)
      torn |= config_of(e) != config_of(old_e) && config_of(e) != config_of(new_e);
    EXPECT_EQ(torn, !atomic);
    EXPECT_EQ(seen.back(), new_e);
  }
}

}  // namespace
}  // namespace vtd::sim

// The transitions checker: verdicts over the generated matrix per writer, and
// the checker's own rules (store reordering, fetch order, the drain at a
// flush, write-backs, invalidation coverage) on tiny hand-made writers.
#include "transitions/transitions.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "driver/entry_ops.h"
#include "driver/writers/entry_sync.h"
#include "tests/transitions/checker_test_util.h"

namespace vtd::transitions {
namespace {

using namespace testutil;
using sim::Entry;
using sim::EntryKind;

Result Check(const std::string& writer, const Spec& s) {
  std::unique_ptr<drv::Writer> w = drv::make_writer(writer);
  EXPECT_NE(w, nullptr) << writer;
  return w ? check(*w, s) : Result();
}

Spec Pasid(End from, End to, bool cpu128 = true, bool coherent = true, bool cm = false) {
  Spec s;
  s.old = entry_of(EntryKind::PasidEntry, from);
  s.target = entry_of(EntryKind::PasidEntry, to);
  s.cpu128 = cpu128;
  s.quantum_bits = cpu128 ? 128 : 64;
  s.coherent = coherent;
  s.cm = cm;
  return s;
}

End E(End::Type t, uint16_t did, int roots = 0, uint32_t flags = 0) {
  return End{.type = t, .did = did, .roots = roots, .flags = flags};
}

// ------------------------------------------------------ the writers' verdicts

class CorrectWriter : public ::testing::TestWithParam<const char*> {};

TEST_P(CorrectWriter, Matrix_NoInterleavingTearsLosesAFlushOrBreaksAPromise) {
  std::unique_ptr<drv::Writer> w = drv::make_writer(GetParam());
  ASSERT_NE(w, nullptr);
  uint64_t interleavings = 0;
  for (const Row& row : Matrix()) {
    Result r = check(*w, row.spec);
    ASSERT_TRUE(r.supported) << row.name();
    EXPECT_FALSE(r.violated()) << Describe(row, r);
    interleavings += r.interleavings;
  }
  EXPECT_GT(interleavings, Matrix().size());
}

// entry-sync's promise: a change whose used bits sit in one atomic quantum
// is hitless, and the hardware never sees the entry not present.
TEST_P(CorrectWriter, OneCriticalQuantum_IsObservedHitless) {
  std::unique_ptr<drv::Writer> w = drv::make_writer(GetParam());
  ASSERT_NE(w, nullptr);
  int checked = 0;
  for (const Row& row : Matrix()) {
    const Spec& s = row.spec;
    if (!s.old.present() || !s.target.present()) continue;
    const bool one = drv::EntrySync::critical(s.caps(), s.old, s.target, nullptr, nullptr) <= 1;
    Result r = check(*w, s);
    if (one || r.hitless_declared) {
      EXPECT_TRUE(r.hitless_declared || std::string(GetParam()) == "teardown-replace")
          << row.name();
      if (r.hitless_declared) EXPECT_TRUE(r.hitless_observed) << Describe(row, r);
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

INSTANTIATE_TEST_SUITE_P(Writers, CorrectWriter,
                         ::testing::Values("entry-sync", "entry-sync-tempdid"));

TEST(TeardownReplace, Matrix_CleanAndNeverHitless) {
  for (const Row& row : Matrix()) {
    Result r = Check("teardown-replace", row.spec);
    EXPECT_FALSE(r.violated()) << Describe(row, r);
    EXPECT_FALSE(r.hitless_declared);
  }
}

// entry-sync-tempdid: the DID-changing first-stage replace entry-sync must
// break is hitless through the temporary DID, which the flushes cover.
TEST(EntrySyncTempDid, FirstStageDidChange_HitlessThroughATemporaryDid) {
  Spec s = Pasid(E(End::First, 5), E(End::First, 6, 1));
  Result plain = Check("entry-sync", s);
  EXPECT_FALSE(plain.hitless_declared);
  EXPECT_FALSE(plain.hitless_observed);
  Result temp = Check("entry-sync-tempdid", s);
  EXPECT_NE(temp.rec.temp_did, 0);
  EXPECT_TRUE(temp.hitless_declared);
  EXPECT_TRUE(temp.hitless_observed);
  EXPECT_FALSE(temp.violated());
  EXPECT_GE(temp.rec.groups.size(), 3u);
}

// B2/B3: the legacy PASID teardown zeroes a present entry; the replace is a
// 64-byte struct copy. Both tear whenever the change spans both chunks.
TEST(Legacy, PasidTeardownAndStructCopyReplace_AreTorn) {
  int teardowns = 0, replaces = 0;
  for (const Row& row : Matrix()) {
    if (row.kind != EntryKind::PasidEntry) continue;
    const Spec& s = row.spec;
    const bool chunk0 = s.old.w[0] != s.target.w[0] || s.old.w[1] != s.target.w[1];
    const bool chunk1 = s.old.w[2] != s.target.w[2] || s.old.w[3] != s.target.w[3];
    if (!s.old.present() || !chunk0 || !chunk1) continue;
    Result r = Check("legacy", s);
    // Torn in its shape (P1), or in its DID alone: the old table under the
    // new DID (P5; shapes mask the DID).
    EXPECT_TRUE(Has(r, "P1") || Has(r, "P5")) << Describe(row, r);
    ++(s.target.present() ? replaces : teardowns);
  }
  EXPECT_GT(teardowns, 0);
  EXPECT_GT(replaces, 0);
}

// B1: legacy-mode context entries are built from plain read-modify-writes
// with no barrier: the store setting P may become visible before the ones
// setting the other fields.
TEST(Legacy, ContextEntryFromReorderablePlainStores_IsTorn) {
  int rows = 0;
  for (const Row& row : Matrix()) {
    if (row.kind != EntryKind::LegacyContext || !row.spec.target.present()) continue;
    Result r = Check("legacy", row.spec);
    EXPECT_TRUE(Has(r, "P1")) << Describe(row, r);
    ++rows;
  }
  EXPECT_GT(rows, 0);
}

// B4: atomic128-v1 declares every replace hitless, but a first-stage
// replace whose DID changes alters chunk 0 too and falls back to teardown.
TEST(Atomic128V1, FirstStageDidChangingReplace_BreaksTheHitlessPromise) {
  int rows = 0;
  for (const Row& row : Matrix()) {
    if (row.kind != EntryKind::PasidEntry || row.from.type != End::First ||
        row.to.type != End::First || row.from.flags || row.to.flags || !row.spec.cpu128)
      continue;
    Result r = Check("atomic128-v1", row.spec);
    if (row.from.did != row.to.did) {
      EXPECT_TRUE(Has(r, "P3")) << Describe(row, r);
      ++rows;
    } else {
      EXPECT_FALSE(r.violated()) << Describe(row, r);  // chunk 1 only: one store
    }
  }
  EXPECT_GT(rows, 0);
}

// B5: fs-inplace-did stores the new table pointer before the new DID.
TEST(FsInplaceDid, NewTableUnderTheOldDid_IsAliasing) {
  Result r = Check("fs-inplace-did", Pasid(E(End::First, 5), E(End::First, 6, 1)));
  EXPECT_TRUE(Has(r, "P5")) << Describe(Row(), r);
}

// B6: cache-tag-late moves the cache tags around the hardware's use.
TEST(CacheTagLate, TagsMovedOutsideTheHardwaresUse_AreFlagged) {
  Result r = Check("cache-tag-late", Pasid(E(End::Second, 5), E(End::Second, 6, 1)));
  EXPECT_TRUE(Has(r, "tags"));
}

// B8: no PASID-cache invalidation after a PASID entry change.
TEST(NoPasidFlush, ChangedPasidEntry_StaysCached) {
  Result r = Check("no-pasid-flush", Pasid(E(End::Second, 5), E(End::Second, 6, 1)));
  EXPECT_TRUE(Has(r, "P4"));
}

// B7: the zeroing after the flush is never written back.
TEST(NoClflush, NonCoherentTeardown_LeavesTheLineDirty) {
  Result r = Check("no-clflush", Pasid(E(End::First, 5), E(End::None, 0), true, false));
  EXPECT_TRUE(Has(r, "final"));
  EXPECT_FALSE(Check("no-clflush", Pasid(E(End::First, 5), E(End::None, 0))).violated());
}

// ------------------------------------------------- the checker's own rules

// A writer for hand-made flows: `fn` does the update.
class Fn : public drv::Writer {
 public:
  using Update = void (*)(WriterCtx&, const Transition&);
  explicit Fn(Update u, bool hitless = false) : u_(u), hitless_(hitless) {}
  Status update(WriterCtx& ctx, const Transition& t) override {
    if (t.changes_domain) ctx.tag_add(Side::New, t.new_did);
    u_(ctx, t);
    if (t.changes_domain) ctx.tag_remove(Side::Old, t.old_did);
    return Status::Ok;
  }
  bool hitless(const Caps&, const Entry& o, const Entry& n) const override {
    return hitless_ && o.present() && n.present();
  }

 private:
  Update u_;
  bool hitless_;
};

void Write128Chunk(WriterCtx& ctx, const Transition& t, const Entry& v, int c) {
  ctx.cpu().write128(t.at.pa + 16ull * c, v.w[2 * c], v.w[2 * c + 1]);
}

void FlushOld(WriterCtx& ctx, const Transition& t) {
  drv::ops::flush_old(ctx, t.old, t.old_did);
}

TEST(Checker, TwoChunkChangeInTwoAtomicStores_IsTorn) {
  Fn w([](WriterCtx& ctx, const Transition& t) {
    Write128Chunk(ctx, t, t.target, 0);
    Write128Chunk(ctx, t, t.target, 1);
    FlushOld(ctx, t);
  });
  Result r = check(w, Pasid(E(End::Second, 5), E(End::First, 5)));
  EXPECT_TRUE(Has(r, "P1"));
  EXPECT_EQ(r.rec.stores, 2u);
  EXPECT_EQ(r.rec.groups.size(), 1u);
}

TEST(Checker, OneAtomicStoreOfATwoChunkChange_MissesTheTarget) {
  Fn w([](WriterCtx& ctx, const Transition& t) {
    Write128Chunk(ctx, t, t.target, 0);
    FlushOld(ctx, t);
  });
  Result r = check(w, Pasid(E(End::Second, 5), E(End::First, 5)));
  EXPECT_TRUE(Has(r, "final"));
}

TEST(Checker, OneChunkChangeInOneAtomicStore_IsHitless) {
  Fn w(
      [](WriterCtx& ctx, const Transition& t) {
        Write128Chunk(ctx, t, t.target, 0);
        FlushOld(ctx, t);
      },
      true);
  Result r = check(w, Pasid(E(End::Second, 5), E(End::Second, 6, 1)));
  EXPECT_FALSE(r.violated()) << Describe(Row(), r);
  EXPECT_TRUE(r.hitless_observed);
  // Fetch before the store, between the store and the flush, after it.
  EXPECT_EQ(r.interleavings, 3u);
}

TEST(Checker, WriterThatFlushesNothing_FailsInvalidationCoverage) {
  Fn w([](WriterCtx& ctx, const Transition& t) { Write128Chunk(ctx, t, t.target, 0); });
  Result r = check(w, Pasid(E(End::Second, 5), E(End::Second, 6, 1)));
  EXPECT_TRUE(Has(r, "P4"));
  EXPECT_EQ(r.interleavings, 2u);
}

// The old DID must be named: invalidating only the new one leaves the old
// entry cached under its own tag (spec 6.2.1).
TEST(Checker, FlushNamingOnlyTheNewDid_FailsInvalidationCoverage) {
  Fn w([](WriterCtx& ctx, const Transition& t) {
    Write128Chunk(ctx, t, t.target, 0);
    ctx.submit(ctx.inv_entry_cache(t.new_did));
  });
  EXPECT_TRUE(Has(check(w, Pasid(E(End::Second, 5), E(End::Second, 6, 1))), "P4"));
}

// Making an entry present needs no invalidation unless CM=1, where the
// not-present entry may be cached; any PASID-selective PASID-cache
// invalidation drops it.
TEST(Checker, SetupWithoutFlush_OnlyCachingModeNeedsOne) {
  Fn w([](WriterCtx& ctx, const Transition& t) {
    Write128Chunk(ctx, t, t.target, 1);
    Write128Chunk(ctx, t, t.target, 0);
  });
  EXPECT_FALSE(check(w, Pasid(E(End::None, 0), E(End::First, 5))).violated());
  EXPECT_TRUE(Has(check(w, Pasid(E(End::None, 0), E(End::First, 5), true, true, true)), "P4"));
  Fn flushed([](WriterCtx& ctx, const Transition& t) {
    Write128Chunk(ctx, t, t.target, 1);
    Write128Chunk(ctx, t, t.target, 0);
    ctx.submit(ctx.inv_entry_cache(t.new_did));
  });
  EXPECT_FALSE(
      check(flushed, Pasid(E(End::None, 0), E(End::First, 5), true, true, true)).violated());
}

// P last in program order is not enough with plain stores: they may become
// visible in any order between two ordering points. WRITE_ONCE stores keep
// their order.
TEST(Checker, PlainStoresMayReorder_WriteOnceStoresMayNot) {
  Spec s;
  s.old = Entry(EntryKind::LegacyContext);
  s.target = sim::encode(sim::LegacyContextFields{.ssptptr = 0x100000, .did = 5});
  s.cpu128 = false;
  s.quantum_bits = 128;
  Fn plain([](WriterCtx& ctx, const Transition& t) {
    ctx.cpu().write64(t.at.pa + 8, t.target.w[1]);
    ctx.cpu().write64(t.at.pa, t.target.w[0]);
  });
  Fn once([](WriterCtx& ctx, const Transition& t) {
    ctx.cpu().write64_once(t.at.pa + 8, t.target.w[1]);
    ctx.cpu().write64_once(t.at.pa, t.target.w[0]);
  });
  Fn fenced([](WriterCtx& ctx, const Transition& t) {
    ctx.cpu().write64(t.at.pa + 8, t.target.w[1]);
    ctx.cpu().wmb();
    ctx.cpu().write64(t.at.pa, t.target.w[0]);
  });
  Result r = check(plain, s);
  EXPECT_TRUE(Has(r, "P1"));
  EXPECT_EQ(r.interleavings, 6u);  // 2 store orders x 3 places for the one-quantum fetch
  r = check(once, s);
  EXPECT_FALSE(r.violated());
  EXPECT_EQ(r.interleavings, 3u);
  EXPECT_FALSE(check(fenced, s).violated());
}

// A fetch in flight completes before an invalidation does: clearing P,
// flushing, then zeroing is safe; zeroing before the flush is not (a fetch
// that read P=1 before the clear reads the zeroed chunk after it).
TEST(Checker, FetchInFlight_IsDrainedByTheFlush) {
  Fn safe(
      [](WriterCtx& ctx, const Transition& t) { drv::ops::teardown(ctx, t.at, t.old, t.old_did); });
  Fn early([](WriterCtx& ctx, const Transition& t) {
    Entry cleared = t.old;
    cleared.set(sim::Field::P, 0);
    Write128Chunk(ctx, t, cleared, 0);
    Write128Chunk(ctx, t, Entry(t.at.kind), 1);
    FlushOld(ctx, t);
    Write128Chunk(ctx, t, Entry(t.at.kind), 0);
  });
  const Spec s = Pasid(E(End::First, 5), E(End::None, 0));
  EXPECT_FALSE(check(safe, s).violated());
  EXPECT_TRUE(Has(check(early, s), "P1"));
}

// The quantum holding P is fetched first and a fetch that finds P=0 stops:
// filling the rest before setting P needs no ordering beyond program order
// of atomic stores, in either fetch width.
TEST(Checker, FetchThatFindsPClear_Stops) {
  Fn setup([](WriterCtx& ctx, const Transition& t) {
    drv::ops::setup(ctx, t.at, t.old, t.target, t.new_did);
  });
  for (bool cpu128 : {true, false})
    for (bool coherent : {true, false}) {
      Result r = check(setup, Pasid(E(End::None, 0), E(End::Nested, 5), cpu128, coherent));
      EXPECT_FALSE(r.violated()) << Describe(Row(), r);
      EXPECT_TRUE(r.saw_not_present);
    }
}

// Non-coherent: the hardware reads DRAM, which a store reaches only when
// its line is written back; without a clflush the target may never arrive.
TEST(Checker, NonCoherentWithoutClflush_IsNotFinal) {
  Fn noflush([](WriterCtx& ctx, const Transition& t) {
    Write128Chunk(ctx, t, t.target, 0);
    FlushOld(ctx, t);
  });
  Fn flushed([](WriterCtx& ctx, const Transition& t) {
    Write128Chunk(ctx, t, t.target, 0);
    drv::ops::clflush_entry(ctx, t.at);
    FlushOld(ctx, t);
  });
  const Spec s = Pasid(E(End::Second, 5), E(End::Second, 6, 1), true, false);
  Result bad = check(noflush, s);
  EXPECT_TRUE(Has(bad, "final"));
  EXPECT_TRUE(Has(bad, "P4"));  // a fetch after the flush still reads the old entry
  EXPECT_FALSE(check(flushed, s).violated());
}

// An eviction may write a line back at any moment, with whatever the CPU
// has made visible so far: two plain stores reordered and evicted halfway.
TEST(Checker, NonCoherentEviction_ExposesAPartialLine) {
  Fn w([](WriterCtx& ctx, const Transition& t) {
    ctx.cpu().write64_once(t.at.pa + 8, t.target.w[1]);
    ctx.cpu().write64_once(t.at.pa, t.target.w[0]);
    drv::ops::clflush_entry(ctx, t.at);
    FlushOld(ctx, t);
  });
  Spec s;
  s.old = sim::encode(sim::LegacyContextFields{.ssptptr = 0x100000, .did = 5});
  s.target = sim::encode(sim::LegacyContextFields{.tt = sim::kTtPassThrough, .aw = 3, .did = 6});
  s.cpu128 = false;
  s.quantum_bits = 128;
  EXPECT_TRUE(Has(check(w, s), "P1"));  // TT old with AW new, coherent or not
  s.coherent = false;
  Result r = check(w, s);
  EXPECT_TRUE(Has(r, "P1"));
  EXPECT_GT(r.interleavings, check(w, Spec{s.old, s.target, 128, false, true}).interleavings);
}

TEST(Checker, TagAddedAfterTheEntryCarriesTheDid_IsFlagged) {
  class Late : public drv::Writer {
   public:
    Status update(WriterCtx& ctx, const Transition& t) override {
      ctx.cpu().write128(t.at.pa, t.target.w[0], t.target.w[1]);
      FlushOld(ctx, t);
      ctx.tag_add(Side::New, t.new_did);
      ctx.tag_remove(Side::Old, t.old_did);
      return Status::Ok;
    }
    bool hitless(const Caps&, const Entry&, const Entry&) const override { return false; }
  } w;
  Result r = check(w, Pasid(E(End::Second, 5), E(End::Second, 6, 1)));
  EXPECT_TRUE(Has(r, "tags"));
}

TEST(Checker, Write128WithoutCmpxchg16b_BreaksTheContract) {
  Fn w([](WriterCtx& ctx, const Transition& t) { Write128Chunk(ctx, t, t.target, 0); });
  EXPECT_TRUE(Has(check(w, Pasid(E(End::Second, 5), E(End::Second, 6, 1), false)), "contract"));
}

// The legacy struct copy is 8 plain stores in one segment (any order), a
// PASID entry is 8 fetch quanta (any order after the first), and the line
// may be written back at any moment: the memoized search visits far fewer
// states than there are schedules.
TEST(Checker, StructCopy_ExploredWithMemoization) {
  Result r = Check("legacy", Pasid(E(End::Second, 5, 0, kFlagPgsnp),
                                   E(End::Nested, 6, 1, kFlagWpe | kFlagSre), false, false));
  EXPECT_TRUE(Has(r, "P1"));
  EXPECT_GT(r.interleavings, 10 * r.states);
  EXPECT_LT(r.states, 100000u);
}

TEST(Checker, SameInput_SameResult) {
  for (const char* w : {"legacy", "entry-sync-tempdid"}) {
    Spec s = Pasid(E(End::First, 5), E(End::First, 6, 1), false, false, true);
    Result a = Check(w, s), b = Check(w, s);
    EXPECT_EQ(a.interleavings, b.interleavings);
    EXPECT_EQ(a.states, b.states);
    EXPECT_EQ(finding_lines(a), finding_lines(b));
  }
}

TEST(Matrix, CoversEveryPgttPairBothWidthsAndPlatforms) {
  std::set<std::pair<int, int>> pgtt;
  int cpu64 = 0, noncoherent = 0, cm = 0;
  for (const Row& row : Matrix()) {
    if (row.kind == EntryKind::PasidEntry) pgtt.insert({row.from.type, row.to.type});
    cpu64 += !row.spec.cpu128;
    noncoherent += !row.spec.coherent;
    cm += row.spec.cm;
  }
  EXPECT_EQ(pgtt.size(), 4u * 4u + 8u);  // every pair, and not present to/from each
  EXPECT_EQ(size_t(cpu64) * 2, Matrix().size());
  EXPECT_EQ(size_t(noncoherent) * 2, Matrix().size());
  EXPECT_EQ(size_t(cm) * 2, Matrix().size());
}

TEST(Matrix, AnyBytesDecodeToAValidRow) {
  for (uint32_t seed = 0; seed < 2000; ++seed) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = uint8_t((seed * 2654435761u) >> (i * 3));
    Row row = row_from_bytes(b, seed % 9);
    for (const Entry& e : {row.spec.old, row.spec.target})
      if (e.present())
        EXPECT_EQ(sim::decode(e), sim::FaultReason::None) << e.str();
      else
        EXPECT_EQ(e, Entry(e.kind));
  }
}

}  // namespace
}  // namespace vtd::transitions

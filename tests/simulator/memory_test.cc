// Memory and the CPU side (DESIGN.md section 4, "Memory", "Store
// visibility"): typed pages, poisoned frees, store reordering between
// ordering points, non-coherent write-back, and the hardware-read hazards
// (freed page, wrong type, stale line, unpublished table).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/simulator/sim_test_util.h"

namespace vtd::sim {
namespace {

using namespace testutil;

constexpr Iova kIova = 0x7654000;
const Sid kSid(0, 4, 0);

Config noncoherent() {
  Config c;
  c.coherent = false;
  return c;
}

// Runs `check` on a coherent and on a non-coherent machine.
template <typename Check>
void on_both_coherences(Check check) {
  for (bool coherent : {true, false}) {
    SCOPED_TRACE(coherent ? "coherent" : "non-coherent");
    Config cfg;
    cfg.coherent = coherent;
    Machine m(cfg);
    check(m, coherent);
  }
}

// ------------------------------------------------------------- allocation

TEST(Memory, Alloc_DeterministicTypedZeroedAndReusedLastInFirstOut) {
  Machine m1(Config{}), m2(Config{});
  std::vector<PhysAddr> a, b;
  for (PageType t : {PageType::Root, PageType::Context, PageType::PageTable, PageType::Queue}) {
    a.push_back(m1.cpu0.alloc_page(t));
    b.push_back(m2.cpu1.alloc_page(t));
    EXPECT_EQ(m1.mem.type(a.back()), t);
    EXPECT_EQ(a.back() % kPageSize, 0u);
    for (PhysAddr w = a.back(); w < a.back() + kPageSize; w += 8) ASSERT_EQ(m1.cpu0.read64(w), 0u);
  }
  EXPECT_EQ(a, b);  // same sequence of calls, same addresses
  EXPECT_EQ(std::set<PhysAddr>(a.begin(), a.end()).size(), a.size());
  EXPECT_EQ(m1.mem.pages_in_use(), 4u);
  m1.cpu0.free_page(a[1]);
  m1.cpu0.free_page(a[2]);
  EXPECT_EQ(m1.mem.pages_in_use(), 2u);
  EXPECT_EQ(m1.cpu0.alloc_page(PageType::PasidDir), a[2]);
  EXPECT_EQ(m1.cpu0.alloc_page(PageType::PasidDir), a[1]);
  EXPECT_EQ(m1.cpu0.read64(a[1] + 64), 0u);  // reused pages read as zero again
}

TEST(Memory, Free_PoisonsBothViewsAndTypesPageFree) {
  on_both_coherences([](Machine& m, bool coherent) {
    PhysAddr p = m.cpu0.alloc_page(PageType::PageTable);
    m.cpu0.write64(p + 8, 0x1234);
    m.cpu0.clflush(p, kPageSize);
    m.cpu0.free_page(p);
    EXPECT_EQ(m.mem.type(p), PageType::Free);
    EXPECT_EQ(m.mem.load(p + 8), kPoison);
    EXPECT_EQ(m.mem.hw_load(p + 8), kPoison);
    EXPECT_TRUE(m.mem.hw_poisoned(p + 8));
  });
}

TEST(Memory, Alloc_ExhaustedPoolReturnsZero) {
  PhysMemory::Layout layout;
  layout.pool_pages = 2;
  PhysMemory mem(true, layout);
  EXPECT_NE(mem.alloc(PageType::Root), 0u);
  EXPECT_NE(mem.alloc(PageType::Root), 0u);
  EXPECT_EQ(mem.alloc(PageType::Root), 0u);
}

TEST(Memory, DataRegion_IsTypedDataAndReadsZero) {
  Machine m(Config{});
  const PhysMemory::Layout& l = m.mem.layout();
  EXPECT_EQ(l.data_base, data_page(0));
  EXPECT_TRUE(m.mem.is_data(data_page(0)));
  EXPECT_TRUE(m.mem.is_data(data_page(l.data_pages - 1)));
  EXPECT_FALSE(m.mem.is_data(data_page(l.data_pages)));
  EXPECT_EQ(m.mem.type(data_page(3)), PageType::Data);
  EXPECT_EQ(m.mem.hw_load(data_page(3)), 0u);
  EXPECT_FALSE(m.mem.hw_poisoned(data_page(3)));
}

// ---------------------------------------------------------- non-coherent

TEST(NonCoherent, NonCoherent_FreshPageReadsAsPoisonUntilFlushed) {
  on_both_coherences([](Machine& m, bool coherent) {
    EXPECT_EQ(bool(m.cpu0.mmio_read(Reg::ECAP) & ecap::C), coherent);
    PhysAddr p = m.cpu0.alloc_page(PageType::PageTable);
    for (PhysAddr line = p; line < p + kPageSize; line += kLineSize) {
      ASSERT_EQ(m.mem.hw_poisoned(line), !coherent);
      ASSERT_EQ(m.mem.hw_load(line + 8), coherent ? 0 : kPoison);
      ASSERT_EQ(m.cpu0.read64(line + 8), 0u);  // the CPU sees its own zeroing
    }
    EXPECT_EQ(m.mem.dirty_lines().size(), coherent ? 0u : kPageSize / kLineSize);
    m.cpu0.clflush(p + kLineSize, 1);  // one line
    EXPECT_FALSE(m.mem.hw_poisoned(p + kLineSize));
    EXPECT_EQ(m.mem.hw_load(p + kLineSize), 0u);
    EXPECT_EQ(m.mem.hw_poisoned(p), !coherent);
    EXPECT_EQ(m.mem.hw_poisoned(p + 2 * kLineSize), !coherent);
  });
}

// PhysMemory::hw_version: a page is newer than a count exactly when what
// the hardware reads from it changed since (the oracle reuses a reference
// walk while none of its pages is newer).
TEST(NonCoherent, HwVersion_PageNewerExactlyWhenWhatTheHardwareReadsChanged) {
  on_both_coherences([](Machine& m, bool coherent) {
    const PhysAddr p = m.cpu0.alloc_page(PageType::PageTable);
    const PhysAddr q = m.cpu0.alloc_page(PageType::PageTable);
    const PhysAddr never = m.mem.layout().pool_base + 100 * kPageSize;
    EXPECT_EQ(m.mem.hw_version(never), 0u);
    EXPECT_GT(m.mem.hw_version(q), m.mem.hw_version(p));  // allocation is a change
    m.cpu0.clflush(p, kPageSize);
    m.cpu0.clflush(q, kPageSize);
    uint64_t v = m.mem.hw_version();
    m.cpu0.write64(p + 8, 1);
    EXPECT_EQ(m.mem.hw_version(p) > v, coherent);  // non-coherent: not until written back
    EXPECT_LE(m.mem.hw_version(q), v);
    m.cpu0.clflush(p + 8, 8);
    EXPECT_GT(m.mem.hw_version(p), v);
    EXPECT_LE(m.mem.hw_version(q), v);
    v = m.mem.hw_version();
    m.cpu0.clflush(p + 8, 8);  // a clean line: nothing changes
    EXPECT_LE(m.mem.hw_version(p), v);
    m.mem.hw_store(q + 16, 2);  // a hardware write (status, DMA)
    EXPECT_GT(m.mem.hw_version(q), v);
    v = m.mem.hw_version();
    m.cpu0.free_page(p);
    EXPECT_GT(m.mem.hw_version(p), v);
    EXPECT_LE(m.mem.hw_version(q), v);
  });
}

TEST(NonCoherent, NonCoherent_StoreInvisibleToHardwareUntilClflush) {
  Machine m(noncoherent());
  Recorder rec;
  m.iommu.set_observer(&rec);
  PhysAddr p = m.cpu0.alloc_page(PageType::PageTable);
  m.cpu0.clflush(p, kPageSize);
  EXPECT_TRUE(m.mem.dirty_lines().empty());
  m.cpu0.write64(p + 0x48, 0xabc);
  EXPECT_EQ(m.cpu0.read64(p + 0x48), 0xabcu);
  EXPECT_EQ(m.mem.load(p + 0x48), 0xabcu);  // globally visible to CPUs...
  EXPECT_EQ(m.mem.hw_load(p + 0x48), 0u);   // ...but not to the walker
  EXPECT_TRUE(m.mem.line_dirty(p + 0x40));
  EXPECT_EQ(m.mem.dirty_lines(), std::vector<PhysAddr>{p + 0x40});
  m.cpu0.clflush(p + 0x48, 8);
  EXPECT_EQ(m.mem.hw_load(p + 0x48), 0xabcu);
  EXPECT_FALSE(m.mem.line_dirty(p + 0x40));

  // A schedule-chosen eviction writes a line back too.
  m.cpu0.write64(p + 0x80, 0xdef);
  EXPECT_EQ(m.mem.hw_load(p + 0x80), 0u);
  EXPECT_TRUE(m.iommu.writeback_line(p + 0x80));
  EXPECT_FALSE(m.iommu.writeback_line(p + 0x80));  // clean now
  EXPECT_EQ(m.mem.hw_load(p + 0x80), 0xdefu);
  EXPECT_EQ(rec.count(EventKind::Writeback), 1u);
}

// The walker reads DRAM: it keeps translating through the old PTE until
// the line holding the new one is flushed.
TEST(NonCoherent, NonCoherent_WalkSeesOldPteUntilClflush) {
  Env env(noncoherent());
  ASSERT_TRUE(env.b->flush());
  Device d = add_scalable(env, kSid, 0, kPgttSecond, 3, kIova, data_page(1));
  Translation t = env.translate(kSid, kNoPasid, kIova);
  ASSERT_TRUE(t.ok()) << fault_reason_name(t.fault) << "\n" << env.rec.dump();
  EXPECT_EQ(t.pa, data_page(1));
  EXPECT_TRUE(env.rec.hazards().empty());

  env.b->set_flush(false);
  const PhysAddr pte = env.b->pte_pa(d.ss, kIova, 1);
  env.b->map(d.ss, kIova, data_page(2));
  EXPECT_EQ(env.read(EntryKind::SsPte, pte).get(Field::ADDR), data_page(2));         // CPU view
  EXPECT_EQ(env.b->hw_entry(EntryKind::SsPte, pte).get(Field::ADDR), data_page(1));  // DRAM
  env.flush_caches();
  t = env.translate(kSid, kNoPasid, kIova);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.pa, data_page(1));  // stale DRAM

  env.cpu().clflush(pte, 8);
  env.flush_caches();
  t = env.translate(kSid, kNoPasid, kIova);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.pa, data_page(2));
}

// A table page whose lines were never written back holds poison for the
// walker: the read is flagged StaleLine and faults.
TEST(NonCoherent, NonCoherent_WalkOfUnflushedTableIsStaleLineRead) {
  Env env(noncoherent());
  Device d = add_scalable(env, kSid, 0, kPgttSecond, 3, kIova, data_page(1));
  env.b->set_flush(false);
  const Iova other = kIova + (4ull << 21);  // another 2 MiB region: a new leaf table
  env.b->map(d.ss, other, data_page(2));
  const PhysAddr l2 = env.b->pte_pa(d.ss, other, 2);
  env.cpu().clflush(l2, 8);  // publish the pointer, not the new table
  const PhysAddr leaf_table = page_of(env.b->pte_pa(d.ss, other, 1));
  EXPECT_TRUE(env.m->mem.hw_poisoned(leaf_table));
  env.rec.clear();
  Translation t = env.translate(kSid, kNoPasid, other);
  EXPECT_EQ(t.fault, FaultReason::PteReserved);
  EXPECT_EQ(env.rec.hazards(), std::vector<Hazard>{Hazard::StaleLine});
  auto unsafe = env.rec.of(EventKind::UnsafeRead);
  ASSERT_EQ(unsafe.size(), 1u);
  EXPECT_EQ(page_of(unsafe[0].e.addr), leaf_table);

  env.cpu().clflush(leaf_table, kPageSize);
  env.rec.clear();
  t = env.translate(kSid, kNoPasid, other);
  ASSERT_TRUE(t.ok()) << fault_reason_name(t.fault);
  EXPECT_EQ(t.pa, data_page(2));
  EXPECT_TRUE(env.rec.hazards().empty());
}

// ------------------------------------------------------------ reordering

// Stores two words with the given kinds and store delays, then an ordering
// point; returns the order in which they became visible ("AB" or "BA").
std::string visible_order(bool once_a, bool once_b, uint32_t delay_a, uint32_t delay_b,
                          bool same_word = false) {
  Machine m(Config{});
  ScriptedSchedule s;
  m.set_schedule(&s);
  const PhysAddr p = m.cpu0.alloc_page(PageType::PageTable);
  const PhysAddr a = p + 0x10, b = same_word ? a : p + 0x18;
  s.delays = {delay_a, delay_b};
  auto store = [&](bool once, PhysAddr pa, uint64_t v) {
    if (once)
      m.cpu0.write64_once(pa, v);
    else
      m.cpu0.write64(pa, v);
  };
  store(once_a, a, 0xa);
  store(once_b, b, 0xb);
  m.cpu0.wmb();
  std::string order;
  for (const PreemptPoint& pt : s.visible) order += pt.value == 0xa ? "A" : "B";
  EXPECT_EQ(m.mem.load(b), 0xbu);
  if (!same_word) EXPECT_EQ(m.mem.load(a), 0xau);
  return order;
}

struct OrderCase {
  std::string name;
  bool once_a, once_b;
  std::set<std::string> reachable;  // orders some choice of delays produces
};

void PrintTo(const OrderCase& c, std::ostream* os) {
  *os << c.name;
}

class StoreOrder : public ::testing::TestWithParam<OrderCase> {};

TEST_P(StoreOrder, StoreVisibility_OrdersReachableOverAllDelays) {
  const OrderCase& c = GetParam();
  std::set<std::string> seen;
  for (uint32_t da = 0; da < 8; ++da)
    for (uint32_t db = 0; db < 8; ++db) {
      std::string o = visible_order(c.once_a, c.once_b, da, db);
      ASSERT_EQ(o.size(), 2u) << o;
      seen.insert(o);
      if (da == 0) EXPECT_EQ(o, "AB");  // delay 0 is "no interleaving"
    }
  EXPECT_EQ(seen, c.reachable);
}

std::vector<OrderCase> order_cases() {
  return {
      // Plain C stores: the compiler may emit them in either order.
      {"TwoPlainStores_EitherOrder", false, false, {"AB", "BA"}},
      // WRITE_ONCE-class stores keep program order (x86 TSO).
      {"TwoOnceStores_ProgramOrderOnly", true, true, {"AB"}},
      // A plain store is not ordered against a WRITE_ONCE one.
      {"PlainThenOnce_EitherOrder", false, true, {"AB", "BA"}},
      {"OnceThenPlain_EitherOrder", true, false, {"AB", "BA"}},
  };
}

std::string order_name(const ::testing::TestParamInfo<OrderCase>& i) {
  return i.param.name;
}

INSTANTIATE_TEST_SUITE_P(Kinds, StoreOrder, ::testing::ValuesIn(order_cases()), order_name);

// Two stores to one word are never seen out of program order: the last
// value visible is the second one.
TEST(StoreOrderSameWord, StoreVisibility_SameWordNeverReordered) {
  for (uint32_t da = 0; da < 8; ++da)
    for (uint32_t db = 0; db < 8; ++db) {
      std::string o = visible_order(false, false, da, db, true);
      ASSERT_FALSE(o.empty());
      EXPECT_EQ(o.back(), 'B') << o;
      EXPECT_EQ(o.find("BA"), std::string::npos) << o;
    }
}

struct OrderingPoint {
  std::string name;
  std::function<void(Machine&, PhysAddr scratch)> op;
  bool stores;  // the op itself makes a store visible after the drained one
};

void PrintTo(const OrderingPoint& c, std::ostream* os) {
  *os << c.name;
}

class Drain : public ::testing::TestWithParam<OrderingPoint> {};

// A plain store delayed as long as the schedule allows is still pending
// after another plain store; any ordering point makes it visible before the
// ordering point's own store, and before returning.
TEST_P(Drain, OrderingPoint_DrainsPendingStores) {
  const OrderingPoint& c = GetParam();
  Machine m(Config{});
  ScriptedSchedule s;
  m.set_schedule(&s);
  const PhysAddr p = m.cpu0.alloc_page(PageType::PageTable);
  const PhysAddr scratch = m.cpu0.alloc_page(PageType::PageTable);
  s.delays = {7, 7};
  m.cpu0.write64(p, 0xa);
  m.cpu0.write64(p + 8, 0xa2);
  ASSERT_EQ(m.cpu0.pending(), 2u);  // no ordering point yet: both still pending
  EXPECT_EQ(m.mem.load(p), 0u);
  EXPECT_EQ(m.cpu0.read64(p), 0xau);  // store forwarding
  c.op(m, scratch);
  EXPECT_EQ(m.cpu0.pending(), 0u);
  EXPECT_EQ(m.mem.load(p), 0xau);
  EXPECT_EQ(m.mem.load(p + 8), 0xa2u);
  ASSERT_GE(s.visible.size(), 2u);
  EXPECT_EQ(s.visible[0].pa, p);  // drained in program order
  EXPECT_EQ(s.visible[1].pa, p + 8);
  EXPECT_EQ(s.visible.size(), c.stores ? 3u : 2u);
  if (c.stores) EXPECT_EQ(page_of(s.visible[2].pa), scratch);
}

std::vector<OrderingPoint> ordering_points() {
  return {
      {"Wmb", [](Machine& m, PhysAddr) { m.cpu0.wmb(); }, false},
      {"DmaWmb", [](Machine& m, PhysAddr) { m.cpu0.dma_wmb(); }, false},
      {"Lock", [](Machine& m, PhysAddr) { m.cpu0.lock(1); }, false},
      {"Unlock", [](Machine& m, PhysAddr) { m.cpu0.unlock(1); }, false},
      {"MmioWrite", [](Machine& m, PhysAddr) { m.cpu0.mmio_write(Reg::FSTS, 0); }, false},
      {"Write128", [](Machine& m, PhysAddr x) { m.cpu0.write128(x, 1, 2); }, true},
      {"Clflush", [](Machine& m, PhysAddr x) { m.cpu0.clflush(x, 64); }, false},
      {"FreePage", [](Machine& m, PhysAddr x) { m.cpu0.free_page(x); }, false},
      {"Relax", [](Machine& m, PhysAddr) { m.cpu0.relax(); }, false},
  };
}

std::string point_name(const ::testing::TestParamInfo<OrderingPoint>& i) {
  return i.param.name;
}

INSTANTIATE_TEST_SUITE_P(Points, Drain, ::testing::ValuesIn(ordering_points()), point_name);

TEST(Cpu, Write128_AbsentWithoutCmpxchg16bStoresNothing) {
  Config cfg;
  cfg.cpu128 = false;
  Machine m(cfg);
  PhysAddr p = m.cpu0.alloc_page(PageType::PasidTable);
  EXPECT_FALSE(m.cpu0.has_write128());
  m.cpu0.write128(p, 1, 2);
  EXPECT_EQ(m.mem.load(p), 0u);
  EXPECT_EQ(m.cpu0.stats().illegal128, 1u);
  Machine m2(Config{});
  EXPECT_TRUE(m2.cpu0.has_write128());
}

TEST(Cpu, Locks_HeldUntilUnlocked) {
  Machine m(Config{});
  m.cpu0.lock(7);
  EXPECT_TRUE(m.cpu0.holds(7));
  EXPECT_FALSE(m.cpu1.holds(7));
  m.cpu0.unlock(7);
  EXPECT_FALSE(m.cpu0.holds(7));
}

// --------------------------------------------------- unsafe hardware reads

struct HazardCase {
  std::string name;
  std::function<void(Env&, const Device&)> act;
  Hazard hazard;
  PageType seen_type;                       // type of the page read
  FaultReason fault = FaultReason::kCount;  // kCount: any fault
};

void PrintTo(const HazardCase& c, std::ostream* os) {
  *os << c.name;
}

class UnsafeRead : public ::testing::TestWithParam<HazardCase> {};

TEST_P(UnsafeRead, UnsafeRead_ReportedWithHazard) {
  const HazardCase& c = GetParam();
  Env env;
  Device d = add_scalable(env, kSid, 0, kPgttSecond, 3, kIova, data_page(1));
  ASSERT_TRUE(env.translate(kSid, kNoPasid, kIova).ok());
  env.flush_caches();
  c.act(env, d);
  env.rec.clear();
  Translation t = env.translate(kSid, kNoPasid, kIova);
  EXPECT_FALSE(t.ok());
  if (c.fault != FaultReason::kCount) EXPECT_EQ(t.fault, c.fault);
  auto unsafe = env.rec.of(EventKind::UnsafeRead);
  ASSERT_FALSE(unsafe.empty()) << env.rec.dump();
  EXPECT_EQ(unsafe[0].e.hazard, c.hazard);
  EXPECT_EQ(unsafe[0].e.page_type, c.seen_type);
  EXPECT_EQ(unsafe[0].e.sid, kSid);
}

std::vector<HazardCase> hazard_cases() {
  auto free_page_of = [](Env& env, PhysAddr pa) { env.cpu().free_page(page_of(pa)); };
  std::vector<HazardCase> v;
  v.push_back({"FreedContextTable", [=](Env& e, const Device& d) { free_page_of(e, d.ctx_pa); },
               Hazard::FreedPage, PageType::Free, FaultReason::ContextReserved});
  v.push_back({"FreedPasidDirectory",
               [=](Env& e, const Device& d) { free_page_of(e, d.dir_entry_pa); }, Hazard::FreedPage,
               PageType::Free, FaultReason::PasidDirReserved});
  v.push_back({"FreedPasidTable", [=](Env& e, const Device& d) { free_page_of(e, d.pe_pa); },
               Hazard::FreedPage, PageType::Free, FaultReason::PasidEntryReserved});
  for (uint8_t level : {1, 2, 3, 4})
    v.push_back({"FreedPageTableLevel" + std::to_string(level),
                 [=](Env& e, const Device& d) { free_page_of(e, e.b->pte_pa(d.ss, kIova, level)); },
                 Hazard::FreedPage, PageType::Free, FaultReason::PteReserved});
  // Pointers redirected at a page holding another structure.
  v.push_back({"RootPointsAtPageTable",
               [](Env& e, const Device&) {
                 PhysAddr x = e.cpu().alloc_page(PageType::PageTable);
                 e.cpu().mmio_write(Reg::RTADDR, x | rtaddr::TTM_SCALABLE);
                 e.cpu().mmio_write(Reg::GCMD, gcmd::SRTP | gcmd::TE);
               },
               Hazard::WrongType, PageType::PageTable});
  v.push_back({"ContextTablePointerAtPasidDir",
               [](Env& e, const Device&) {
                 PhysAddr x = e.cpu().alloc_page(PageType::PasidDir);
                 e.edit(EntryKind::ScalableRoot, e.b->root_entry_pa(0),
                        [x](Entry& r) { r.set(Field::LCTP, x); });
               },
               Hazard::WrongType, PageType::PasidDir});
  v.push_back({"PasidDirPointerAtPageTable",
               [](Env& e, const Device& d) {
                 PhysAddr x = e.cpu().alloc_page(PageType::PageTable);
                 e.edit(EntryKind::ScalableContext, d.ctx_pa,
                        [x](Entry& c) { c.set(Field::PASIDDIRPTR, x); });
               },
               Hazard::WrongType, PageType::PageTable});
  v.push_back({"PasidTablePointerAtContextTable",
               [](Env& e, const Device& d) {
                 PhysAddr x = e.cpu().alloc_page(PageType::Context);
                 e.edit(EntryKind::PasidDir, d.dir_entry_pa,
                        [x](Entry& c) { c.set(Field::SMPTBLPTR, x); });
               },
               Hazard::WrongType, PageType::Context});
  v.push_back({"PageTablePointerAtDataPage",
               [](Env& e, const Device& d) {
                 e.edit(EntryKind::PasidEntry, d.pe_pa,
                        [](Entry& c) { c.set(Field::SSPTPTR, data_page(20)); });
               },
               Hazard::WrongType, PageType::Data, FaultReason::PteNotPresent});
  v.push_back({"LeafTablePointerAtQueuePage",
               [](Env& e, const Device& d) {
                 PhysAddr x = e.cpu().alloc_page(PageType::Queue);
                 e.edit(EntryKind::SsPte, e.b->pte_pa(d.ss, kIova, 2),
                        [x](Entry& c) { c.set(Field::ADDR, x); });
               },
               Hazard::WrongType, PageType::Queue, FaultReason::PteNotPresent});
  return v;
}

std::string hazard_name_of(const ::testing::TestParamInfo<HazardCase>& i) {
  return i.param.name;
}

INSTANTIATE_TEST_SUITE_P(Pages, UnsafeRead, ::testing::ValuesIn(hazard_cases()), hazard_name_of);

// A pointer that became visible while the stores filling its table were
// still pending (a missing wmb, B11): the walker's read of that table is
// flagged Unpublished. With a wmb between them it is not.
TEST(Publish, Publish_PointerVisibleBeforeTableContentsIsUnpublishedRead) {
  for (bool wmb : {false, true}) {
    SCOPED_TRACE(wmb ? "with wmb" : "without wmb");
    Env env;
    Device d = add_scalable(env, kSid, 0, kPgttSecond, 3, kIova, data_page(1));
    ScriptedSchedule s;
    env.m->set_schedule(&s);
    const Iova other = kIova + (4ull << 21);
    const PhysAddr l2 = env.b->pte_pa(d.ss, other, 2);
    ASSERT_NE(l2, 0u);
    const PhysAddr table = env.cpu().alloc_page(PageType::PageTable);
    Entry leaf(EntryKind::SsPte);
    leaf.set(Field::R, 1).set(Field::W, 1).set(Field::ADDR, data_page(2));
    Entry ptr(EntryKind::SsPte);
    ptr.set(Field::R, 1).set(Field::W, 1).set(Field::ADDR, table);
    std::vector<Translation> walks;
    std::vector<std::vector<Hazard>> hazards;
    s.on_preempt = [&](const PreemptPoint& p) {
      if (p.pa != l2) return;  // walk as soon as the pointer is visible
      env.rec.clear();
      walks.push_back(env.translate(kSid, kNoPasid, other));
      hazards.push_back(env.rec.hazards());
    };
    s.delays = {7, 0};  // the leaf store lingers; the pointer store does not
    env.cpu().write64(table + 8 * level_index(other, 1), leaf.w[0]);
    if (wmb) env.cpu().wmb();
    env.cpu().write64(l2, ptr.w[0]);
    env.cpu().wmb();
    s.on_preempt = nullptr;
    ASSERT_EQ(walks.size(), 1u);
    if (wmb) {
      EXPECT_TRUE(hazards[0].empty());
      ASSERT_TRUE(walks[0].ok());
      EXPECT_EQ(walks[0].pa, data_page(2));
    } else {
      EXPECT_EQ(hazards[0], std::vector<Hazard>{Hazard::Unpublished});
      EXPECT_EQ(walks[0].fault, FaultReason::PteNotPresent);
    }
  }
}

// ---------------------------------------------------------------- epochs

TEST(Epoch, Epoch_ValueIsWhatHardwareSawWhenTheEpochBegan) {
  Machine m(Config{});
  PhysAddr p = m.cpu0.alloc_page(PageType::Context);
  m.cpu0.write64(p, 1);
  m.mem.begin_epoch();
  EXPECT_FALSE(m.mem.epoch_fresh(p));
  m.cpu0.write64(p, 2);
  m.cpu0.write64(p, 3);
  EXPECT_EQ(m.mem.epoch_value(p), 1u);
  EXPECT_EQ(m.mem.hw_load(p), 3u);
  PhysAddr q = m.cpu0.alloc_page(PageType::Context);
  EXPECT_TRUE(m.mem.epoch_fresh(q));
  m.cpu0.write64(q, 5);
  EXPECT_EQ(m.mem.epoch_value(q), 0u);  // allocated during the epoch
  EXPECT_EQ(m.mem.epoch_allocs(), 1u);
}

// ------------------------------------------------------- several machines

// No globals: machines in one process share nothing.
TEST(Machines, Machine_SeveralInOneProcessAreIndependent) {
  Env a;                        // scalable, coherent
  Config cb = legacy_config();  // legacy, non-coherent, caching mode
  cb.coherent = false;
  cb.caching_mode = true;
  Env b(cb);
  Device da = add_scalable(a, kSid, 0, kPgttSecond, 3, kIova, data_page(1));
  Device db = add_legacy(b, kSid, kTtTranslate, 3, kIova, data_page(2));
  // Deterministic allocation: each machine starts from its own pool, so the
  // same steps give the same addresses.
  Env a2;
  Device da2 = add_scalable(a2, kSid, 0, kPgttSecond, 3, kIova, data_page(1));
  EXPECT_EQ(a2.b->root_table(), a.b->root_table());
  EXPECT_EQ(da2.pe_pa, da.pe_pa);
  EXPECT_NE(a.iommu().rtaddr(), b.iommu().rtaddr());  // TTM differs
  EXPECT_NE(a.cpu().mmio_read(Reg::ECAP), b.cpu().mmio_read(Reg::ECAP));

  Translation ta = a.translate(kSid, kNoPasid, kIova);
  EXPECT_EQ(b.caches().size(CacheKind::Iotlb), 0u);  // a's walk filled only a
  Translation tb = b.translate(kSid, kNoPasid, kIova);
  ASSERT_TRUE(ta.ok() && tb.ok());
  EXPECT_EQ(ta.pa, data_page(1));
  EXPECT_EQ(tb.pa, data_page(2));

  // A fault, an invalidation and a DMA in one are invisible in the other.
  EXPECT_FALSE(a.translate(kSid, kNoPasid, kIova + (1ull << 40)).ok());
  EXPECT_EQ(a.iommu().faults().entries().size(), 1u);
  EXPECT_EQ(b.iommu().faults().entries().size(), 0u);
  a.flush_caches();
  EXPECT_EQ(a.caches().size(CacheKind::Iotlb), 0u);
  EXPECT_EQ(b.caches().size(CacheKind::Iotlb), 1u);
  a.iommu().device_plug(kSid, false);
  EXPECT_FALSE(b.iommu().device_present(kSid));
  ASSERT_TRUE(a.iommu().dma({kSid, kNoPasid, kIova, Access::Write, 77}).done);
  EXPECT_EQ(a.m->mem.hw_load(data_page(1)), 77u);
  EXPECT_EQ(b.m->mem.hw_load(data_page(1)), 0u);
  // The same page address holds different things in each.
  EXPECT_NE(a.m->mem.load(da.ctx_pa), b.m->mem.load(da.ctx_pa));
  EXPECT_NE(b.m->mem.load(db.ctx_pa), 0u);
  // Events go to each machine's own observer.
  a.rec.clear();
  b.rec.clear();
  b.translate(kSid, kNoPasid, kIova);
  EXPECT_EQ(a.rec.events.size(), 0u);
  EXPECT_GT(b.rec.events.size(), 0u);
}

}  // namespace
}  // namespace vtd::sim

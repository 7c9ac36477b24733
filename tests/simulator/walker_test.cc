// The page walker against hand-built tables: every PGTT in scalable mode,
// every TT in legacy mode, 3/4/5 levels, 4 KiB / 2 MiB / 1 GiB pages,
// requests with and without PASID, and every fault reason it can produce.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/simulator/sim_test_util.h"

namespace vtd::sim {
namespace {

using namespace testutil;

constexpr uint32_t kRidPasid = 2;     // PASID used for requests without one
constexpr uint32_t kReqPasid = 0x47;  // directory entry 1, table entry 7
constexpr uint16_t kDid = 0x2a;

// An IOVA with a distinct, non-zero index at every level the width allows.
Iova test_iova(uint8_t levels) {
  Iova v = (0x05aull << 30) | (0x1b3ull << 21) | (0x0c7ull << 12) | 0x2a8;
  if (levels >= 4) v |= 0x022ull << 39;
  if (levels >= 5) v |= 0x011ull << 48;
  return v;
}

// Frame for a leaf of the given size, aligned to it: 4 KiB and 2 MiB frames
// in the data region, the 1 GiB frame at 0.
PhysAddr leaf_frame(uint8_t level) {
  switch (level) {
    case 1:
      return data_page(5);
    case 2:
      return 0x400000;
    default:
      return 0;
  }
}

const char* pgtt_name(uint8_t pgtt) {
  switch (pgtt) {
    case kPgttFirst:
      return "FirstStage";
    case kPgttSecond:
      return "SecondStage";
    case kPgttNested:
      return "Nested";
    case kPgttPassThrough:
      return "PassThrough";
    default:
      return "Invalid";
  }
}

const char* page_name(uint8_t level) {
  return level == 1 ? "4K" : level == 2 ? "2M" : "1G";
}

// -------------------------------------------------- scalable translations

struct ScalableCase {
  uint8_t pgtt;
  uint8_t ss_levels;  // AW
  uint8_t fs_levels;  // FSPM
  uint8_t leaf;       // page size of the (first-stage for nested) leaf
  bool with_pasid;
  bool upper;  // devfn >= 128: the upper half of the scalable root entry
};

std::string scalable_name(const ::testing::TestParamInfo<ScalableCase>& i) {
  const ScalableCase& c = i.param;
  std::string s = pgtt_name(c.pgtt);
  if (c.pgtt == kPgttSecond || c.pgtt == kPgttNested)
    s += "_SS" + std::to_string(c.ss_levels) + "L";
  if (c.pgtt == kPgttFirst || c.pgtt == kPgttNested) s += "_FS" + std::to_string(c.fs_levels) + "L";
  if (c.pgtt != kPgttPassThrough) s += std::string("_") + page_name(c.leaf);
  s += c.with_pasid ? "_WithPasid" : "_RidPasid";
  s += c.upper ? "_UpperDevfn" : "_LowerDevfn";
  return s;
}

std::vector<ScalableCase> scalable_cases() {
  std::vector<ScalableCase> v;
  for (bool pasid : {false, true})
    for (bool upper : {false, true}) {
      for (uint8_t ss : {3, 4, 5})
        for (uint8_t leaf : {1, 2, 3}) v.push_back({kPgttSecond, ss, 4, leaf, pasid, upper});
      for (uint8_t fs : {4, 5})
        for (uint8_t leaf : {1, 2, 3}) v.push_back({kPgttFirst, 4, fs, leaf, pasid, upper});
      v.push_back({kPgttPassThrough, 4, 4, 1, pasid, upper});
    }
  for (bool pasid : {false, true})
    for (uint8_t fs : {4, 5})
      for (uint8_t ss : {3, 4, 5})
        for (uint8_t leaf : {1, 2, 3}) v.push_back({kPgttNested, ss, fs, leaf, pasid, false});
  return v;
}

void PrintTo(const ScalableCase& c, std::ostream* os) {
  *os << "pgtt=" << int(c.pgtt) << " ss=" << int(c.ss_levels) << "L fs=" << int(c.fs_levels)
      << "L leaf=" << int(c.leaf) << (c.with_pasid ? " pasid" : " rid_pasid")
      << (c.upper ? " upper" : " lower");
}

class ScalableWalk : public ::testing::TestWithParam<ScalableCase> {};

TEST_P(ScalableWalk, Walker_TranslatesThroughHandBuiltTables) {
  const ScalableCase& c = GetParam();
  Env env;
  TableBuilder& b = *env.b;
  const Sid sid = c.upper ? Sid(0x12, 0x11, 2) : Sid(0, 3, 0);
  ASSERT_EQ(sid.devfn() >= 128, c.upper);
  const uint32_t pasid = c.with_pasid ? kReqPasid : kRidPasid;
  const bool fs_input = c.pgtt == kPgttFirst || c.pgtt == kPgttNested;
  const Iova iova = test_iova(fs_input ? c.fs_levels : c.ss_levels);
  const uint64_t span = level_span(c.leaf);

  PageTables ss, fs;
  const PageTables* ssp = nullptr;
  const PageTables* fsp = nullptr;
  PhysAddr want = 0;
  switch (c.pgtt) {
    case kPgttSecond:
    case kPgttFirst: {
      // One stage: iova -> a c.leaf-sized page.
      const bool first = c.pgtt == kPgttFirst;
      PageTables& t = first ? fs : ss;
      t = b.new_tables(first, first ? c.fs_levels : c.ss_levels);
      b.map(t, iova, leaf_frame(c.leaf), MapOpts{c.leaf, true});
      want = leaf_frame(c.leaf) + (iova & (span - 1));
      (first ? fsp : ssp) = &t;
      break;
    }
    case kPgttNested: {
      // First stage: iova -> GPA (a c.leaf-sized page at 5 GiB); second
      // stage: that GPA's 4 KiB page -> a data page.
      ss = b.new_tables(false, c.ss_levels);
      fs = b.new_nested_tables(c.fs_levels, ss, kTableGpaOffset);
      const PhysAddr gpa_frame = 0x140000000ull;
      b.map(fs, iova, gpa_frame, MapOpts{c.leaf, true});
      const PhysAddr gpa = gpa_frame + (iova & (span - 1));
      b.map(ss, gpa, data_page(9));
      want = data_page(9) + (iova & (kPageSize - 1));
      ssp = &ss;
      fsp = &fs;
      break;
    }
    case kPgttPassThrough:
      want = iova;
      break;
  }
  b.set_context(sid, ScalableContextFields{.rid_pasid = kRidPasid});
  const Entry pe = encode(TableBuilder::pasid_fields(c.pgtt, kDid, ssp, fsp));
  b.set_pasid_entry(sid, pasid, pe);

  const uint32_t req_pasid = c.with_pasid ? kReqPasid : kNoPasid;
  Translation t = env.translate(sid, req_pasid, iova, Access::Write);
  ASSERT_TRUE(t.ok()) << fault_reason_name(t.fault) << "\n" << env.rec.dump();
  EXPECT_EQ(t.pa, want);
  EXPECT_TRUE(t.writable);
  EXPECT_EQ(t.did, kDid);
  EXPECT_EQ(t.pgtt, c.pgtt);
  EXPECT_FALSE(t.from_iotlb);
  if (c.pgtt == kPgttFirst || c.pgtt == kPgttSecond) EXPECT_EQ(t.level, c.leaf);
  // Spec 6.2.1: first-stage (and nested) fills carry the PASID, RID_PASID
  // for requests without one; second-stage fills do not.
  EXPECT_EQ(t.pasid_tag, fs_input ? pasid : kNoPasid);
  if (c.pgtt != kPgttPassThrough) EXPECT_EQ(t.root, fs_input ? fsp->ptr() : ssp->ptr());
  EXPECT_TRUE(env.iommu().faults().entries().empty());

  // The walk went root -> context -> PASID directory -> PASID entry and
  // assembled exactly the entry written.
  std::vector<EntryKind> kinds;
  for (const auto& r : env.rec.of(EventKind::EntryFetched)) kinds.push_back(r.e.entry_kind);
  const std::vector<EntryKind> want_kinds = {EntryKind::ScalableRoot, EntryKind::ScalableContext,
                                             EntryKind::PasidDir, EntryKind::PasidEntry};
  EXPECT_EQ(kinds, want_kinds);
  ASSERT_TRUE(env.rec.last_fetched(EntryKind::PasidEntry));
  EXPECT_EQ(*env.rec.last_fetched(EntryKind::PasidEntry), pe);
  EXPECT_EQ(env.rec.hazards().size(), 0u);

  // The same request again: served from the IOTLB (pass-through has no
  // table to cache), same answer.
  Translation t2 = env.translate(sid, req_pasid, iova, Access::Read);
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ(t2.pa, want);
  EXPECT_EQ(t2.from_iotlb, c.pgtt != kPgttPassThrough);
}

INSTANTIATE_TEST_SUITE_P(Pgtt, ScalableWalk, ::testing::ValuesIn(scalable_cases()), scalable_name);

// ---------------------------------------------------- legacy translations

struct LegacyCase {
  uint8_t tt;
  uint8_t levels;
  uint8_t leaf;
};

std::string legacy_name(const ::testing::TestParamInfo<LegacyCase>& i) {
  const char* tt[] = {"Translate", "TranslateDevTlb", "PassThrough"};
  std::string s = std::string("TT") + std::to_string(i.param.tt) + tt[i.param.tt];
  s += "_AW" + std::to_string(aw_for_levels(i.param.levels)) + "_" +
       std::to_string(i.param.levels) + "L";
  if (i.param.tt != kTtPassThrough) s += std::string("_") + page_name(i.param.leaf);
  return s;
}

std::vector<LegacyCase> legacy_cases() {
  std::vector<LegacyCase> v;
  for (uint8_t tt : {kTtTranslate, kTtDevTlb})
    for (uint8_t levels : {3, 4, 5})
      for (uint8_t leaf : {1, 2, 3}) v.push_back({tt, levels, leaf});
  for (uint8_t levels : {3, 4, 5}) v.push_back({kTtPassThrough, levels, 1});
  return v;
}

void PrintTo(const LegacyCase& c, std::ostream* os) {
  *os << "tt=" << int(c.tt) << " levels=" << int(c.levels) << " leaf=" << int(c.leaf);
}

class LegacyWalk : public ::testing::TestWithParam<LegacyCase> {};

TEST_P(LegacyWalk, Walker_TranslatesThroughHandBuiltTables) {
  const LegacyCase& c = GetParam();
  Env env(legacy_config());
  TableBuilder& b = *env.b;
  const Sid sid(3, 4, 5);
  const Iova iova = test_iova(c.levels);
  PageTables ss = b.new_tables(false, c.levels);
  const uint64_t span = level_span(c.leaf);
  b.map(ss, iova, leaf_frame(c.leaf), MapOpts{c.leaf, true});
  const Entry ctx = encode(TableBuilder::legacy_fields(c.tt, kDid, ss));
  b.write_entry(b.context_entry_pa(sid), ctx);

  Translation t = env.translate(sid, kNoPasid, iova, Access::Write);
  ASSERT_TRUE(t.ok()) << fault_reason_name(t.fault);
  const bool pt = c.tt == kTtPassThrough;
  EXPECT_EQ(t.pa, pt ? iova : leaf_frame(c.leaf) + (iova & (span - 1)));
  if (!pt) EXPECT_EQ(t.level, c.leaf);
  EXPECT_TRUE(t.writable);
  EXPECT_EQ(t.did, kDid);
  EXPECT_EQ(t.pgtt, pt ? kPgttPassThrough : kPgttSecond);
  EXPECT_EQ(t.ats, c.tt == kTtDevTlb);
  EXPECT_EQ(t.pasid_tag, kNoPasid);

  std::vector<EntryKind> kinds;
  for (const auto& r : env.rec.of(EventKind::EntryFetched)) kinds.push_back(r.e.entry_kind);
  const std::vector<EntryKind> want_kinds = {EntryKind::LegacyRoot, EntryKind::LegacyContext};
  EXPECT_EQ(kinds, want_kinds);
  EXPECT_EQ(*env.rec.last_fetched(EntryKind::LegacyContext), ctx);

  // Page-table reads: one per level down to the leaf (none for pass-through).
  size_t pte_reads = 0;
  for (const auto& r : env.rec.of(EventKind::Read)) pte_reads += r.e.entry_kind == EntryKind::SsPte;
  EXPECT_EQ(pte_reads, pt ? 0u : size_t(c.levels - c.leaf + 1));
}

INSTANTIATE_TEST_SUITE_P(Tt, LegacyWalk, ::testing::ValuesIn(legacy_cases()), legacy_name);

// ----------------------------------------------------------------- faults

// A working device (scalable: SS 4-level, PASID entry at RID_PASID=0 unless
// the case says otherwise), then one breakage, then one request.
struct FaultEnv {
  Env env;
  Device dev;
  WalkRequest req;
  explicit FaultEnv(const Config& cfg) : env(cfg) {}
};

struct FaultCase {
  std::string name;
  bool scalable;
  uint8_t pgtt;  // scalable: the PASID entry type; legacy: ignored (TT=0)
  std::function<void(FaultEnv&)> breakage;
  FaultReason want;
};

constexpr Iova kIova = 0x12345000;
const Sid kSid(0, 2, 0);

std::unique_ptr<FaultEnv> make_fault_env(const FaultCase& c) {
  auto f = std::make_unique<FaultEnv>(c.scalable ? Config{} : legacy_config());
  if (c.scalable)
    f->dev = add_scalable(f->env, kSid, 0, c.pgtt, kDid, kIova, data_page(1));
  else
    f->dev = add_legacy(f->env, kSid, kTtTranslate, kDid, kIova, data_page(1));
  f->req = WalkRequest{kSid, kNoPasid, kIova, Access::Read};
  return f;
}

void edit_ctx(FaultEnv& f, const std::function<void(Entry&)>& fn) {
  f.env.edit(f.env.b->context_kind(), f.dev.ctx_pa, fn);
}
void edit_pe(FaultEnv& f, const std::function<void(Entry&)>& fn) {
  f.env.edit(EntryKind::PasidEntry, f.dev.pe_pa, fn);
}
void edit_root(FaultEnv& f, const std::function<void(Entry&)>& fn) {
  EntryKind k = f.env.b->scalable() ? EntryKind::ScalableRoot : EntryKind::LegacyRoot;
  f.env.edit(k, f.env.b->root_entry_pa(f.dev.sid.bus()), fn);
}
void edit_pte(FaultEnv& f, const PageTables& t, Iova iova, uint8_t level,
              const std::function<void(Entry&)>& fn) {
  PhysAddr pa = f.env.b->pte_pa(t, iova, level);
  ASSERT_NE(pa, 0u);
  f.env.edit(t.pte_kind(), pa, fn);
}
// The tables kIova walks first: second stage for PGTT=2, else the first stage.
const PageTables& walked_tables(const FaultEnv& f) {
  return f.dev.pgtt == kPgttSecond ? f.dev.ss : f.dev.fs;
}
void set_raw_bit(FaultEnv& f, PhysAddr entry, unsigned bit) {
  SimCpu& c = f.env.cpu();
  PhysAddr w = entry + 8 * (bit / 64);
  c.write64(w, c.read64(w) | 1ull << (bit % 64));
}

std::vector<FaultCase> fault_cases() {
  using F = FaultEnv;
  std::vector<FaultCase> v;
  const uint8_t S = kPgttSecond, FS = kPgttFirst, N = kPgttNested;
  // --- scalable: root, context
  v.push_back({"Scalable_RootLowerHalfNotPresent", true, S,
               [](F& f) { edit_root(f, [](Entry& e) { e.set(Field::LP, 0); }); },
               FaultReason::RootNotPresent});
  v.push_back({"Scalable_RootUpperHalfNotPresent", true, S,
               [](F& f) {
                 // A device in the upper half (devfn >= 128) of a bus whose
                 // root entry only has the lower half present.
                 f.req.sid = Sid(0, 0x11, 0);
               },
               FaultReason::RootNotPresent});
  v.push_back({"Scalable_RootReserved", true, S,
               [](F& f) { set_raw_bit(f, f.env.b->root_entry_pa(0), 5); },
               FaultReason::RootReserved});
  v.push_back({"Scalable_ContextNotPresent", true, S,
               [](F& f) { edit_ctx(f, [](Entry& e) { e.set(Field::P, 0); }); },
               FaultReason::ContextNotPresent});
  v.push_back({"Scalable_ContextReserved", true, S, [](F& f) { set_raw_bit(f, f.dev.ctx_pa, 5); },
               FaultReason::ContextReserved});
  v.push_back({"Scalable_ContextReservedInUpperWord", true, S,
               [](F& f) { set_raw_bit(f, f.dev.ctx_pa, 64 + 40); }, FaultReason::ContextReserved});
  v.push_back({"Scalable_PasidDisabled", true, S,
               [](F& f) {
                 edit_ctx(f, [](Entry& e) { e.set(Field::PASIDE, 0); });
                 f.req.pasid = 0;
               },
               FaultReason::PasidDisabled});
  v.push_back({"Scalable_PasidOutOfRangeForPdts0", true, S,
               [](F& f) {
                 // PDTS=0: 2^7 directory entries cover PASIDs below 8192.
                 f.env.b->set_pasid_entry(
                     kSid, 8192,
                     encode(TableBuilder::pasid_fields(kPgttSecond, kDid, &f.dev.ss, nullptr)));
                 f.req.pasid = 8192;
               },
               FaultReason::PasidOutOfRange});
  v.push_back({"Scalable_RidPasidOutOfRangeForPdts0", true, S,
               [](F& f) { edit_ctx(f, [](Entry& e) { e.set(Field::RID_PASID, 128 * 64); }); },
               FaultReason::PasidOutOfRange});
  // --- PASID directory and entry
  v.push_back({"Scalable_PasidDirNotPresent", true, S,
               [](F& f) {
                 f.env.edit(EntryKind::PasidDir, f.dev.dir_entry_pa,
                            [](Entry& e) { e.set(Field::P, 0); });
               },
               FaultReason::PasidDirNotPresent});
  v.push_back({"Scalable_PasidDirEntryForPasidMissing", true, S, [](F& f) { f.req.pasid = 64; },
               FaultReason::PasidDirNotPresent});
  v.push_back({"Scalable_PasidDirReserved", true, S,
               [](F& f) { set_raw_bit(f, f.dev.dir_entry_pa, 7); }, FaultReason::PasidDirReserved});
  v.push_back({"Scalable_PasidEntryNotPresent", true, S,
               [](F& f) { edit_pe(f, [](Entry& e) { e.set(Field::P, 0); }); },
               FaultReason::PasidEntryNotPresent});
  v.push_back({"Scalable_PasidEntryInTableMissing", true, S, [](F& f) { f.req.pasid = 5; },
               FaultReason::PasidEntryNotPresent});
  for (unsigned bit : {5u, 64u + 20, 128u + 1, 192u + 3, 256u, 511u})
    v.push_back({"Scalable_PasidEntryReservedBit" + std::to_string(bit), true, S,
                 [bit](F& f) { set_raw_bit(f, f.dev.pe_pa, bit); },
                 FaultReason::PasidEntryReserved});
  for (uint8_t pgtt : {0, 5, 6, 7})
    v.push_back({"Scalable_PasidEntryInvalidPgtt" + std::to_string(pgtt), true, S,
                 [pgtt](F& f) { edit_pe(f, [pgtt](Entry& e) { e.set(Field::PGTT, pgtt); }); },
                 FaultReason::PasidEntryInvalid});
  for (uint8_t aw : {0, 4, 7})
    for (uint8_t pgtt : {S, N, uint8_t(kPgttPassThrough)})
      v.push_back(
          {std::string("Scalable_PasidEntryInvalidAw") + std::to_string(aw) + "_" + pgtt_name(pgtt),
           true, pgtt, [aw](F& f) { edit_pe(f, [aw](Entry& e) { e.set(Field::AW, aw); }); },
           FaultReason::PasidEntryInvalid});
  for (uint8_t fspm : {2, 3})
    for (uint8_t pgtt : {FS, N})
      v.push_back({std::string("Scalable_PasidEntryInvalidFspm") + std::to_string(fspm) + "_" +
                       pgtt_name(pgtt),
                   true, pgtt,
                   [fspm](F& f) { edit_pe(f, [fspm](Entry& e) { e.set(Field::FSPM, fspm); }); },
                   FaultReason::PasidEntryInvalid});
  // --- page tables, every stage
  for (uint8_t pgtt : {S, FS, N}) {
    const std::string p = pgtt_name(pgtt);
    v.push_back({"Scalable_" + p + "_PteNotPresentUnmappedIova", true, pgtt,
                 [](F& f) { f.req.iova = kIova + (1ull << 39); }, FaultReason::PteNotPresent});
    for (uint8_t level : {1, 2, 3, 4})
      v.push_back({"Scalable_" + p + "_PteNotPresentAtLevel" + std::to_string(level), true, pgtt,
                   [level](F& f) {
                     edit_pte(f, walked_tables(f), kIova, level,
                              [](Entry& e) { e = Entry(e.kind); });
                   },
                   FaultReason::PteNotPresent});
    for (auto [at, where] : {std::pair<uint8_t, const char*>{1, "Leaf"}, {3, "UpperLevel"}})
      v.push_back({"Scalable_" + p + "_WriteDeniedReadOnly" + where, true, pgtt,
                   [level = at](F& f) {
                     const PageTables& t = walked_tables(f);
                     edit_pte(f, t, kIova, level,
                              [&t](Entry& e) { e.set(t.first_stage ? Field::RW : Field::W, 0); });
                     f.req.access = Access::Write;
                   },
                   FaultReason::WriteDenied});
    v.push_back({"Scalable_" + p + "_AddressBeyondWidth4Level", true, pgtt,
                 [](F& f) { f.req.iova = 1ull << 48; }, FaultReason::AddressBeyondWidth});
  }
  v.push_back({"Scalable_SecondStage_AddressBeyondWidth3Level", true, S,
               [](F& f) {
                 PageTables t = f.env.b->new_tables(false, 3);
                 f.env.b->map(t, kIova, data_page(1));
                 edit_pe(f, [&t](Entry& e) { e.set(Field::AW, 1).set(Field::SSPTPTR, t.ptr()); });
                 f.req.iova = 1ull << 39;
               },
               FaultReason::AddressBeyondWidth});
  // Nested: the second stage translates the first stage's output GPA and
  // can fault on its own.
  v.push_back({"Scalable_Nested_OutputGpaUnmappedInSecondStage", true, N,
               [](F& f) {
                 edit_pte(f, f.dev.ss, data_page(1) + kDataGpaOffset, 1,
                          [](Entry& e) { e = Entry(e.kind); });
               },
               FaultReason::PteNotPresent});
  v.push_back({"Scalable_Nested_OutputGpaReadOnlyInSecondStage", true, N,
               [](F& f) {
                 edit_pte(f, f.dev.ss, data_page(1) + kDataGpaOffset, 1,
                          [](Entry& e) { e.set(Field::W, 0); });
                 f.req.access = Access::Write;
               },
               FaultReason::WriteDenied});
  v.push_back({"Scalable_Nested_OutputGpaBeyondSecondStageWidth", true, N,
               [](F& f) {
                 edit_pte(f, f.dev.fs, kIova, 1, [](Entry& e) { e.set(Field::ADDR, 1ull << 49); });
               },
               FaultReason::AddressBeyondWidth});
  // --- legacy
  v.push_back({"Legacy_RootNotPresent", false, 0,
               [](F& f) { edit_root(f, [](Entry& e) { e.set(Field::P, 0); }); },
               FaultReason::RootNotPresent});
  v.push_back({"Legacy_RootReservedLow", false, 0,
               [](F& f) { set_raw_bit(f, f.env.b->root_entry_pa(0), 3); },
               FaultReason::RootReserved});
  v.push_back({"Legacy_RootReservedHigh", false, 0,
               [](F& f) { set_raw_bit(f, f.env.b->root_entry_pa(0), 64); },
               FaultReason::RootReserved});
  v.push_back({"Legacy_ContextNotPresent", false, 0,
               [](F& f) { edit_ctx(f, [](Entry& e) { e.set(Field::P, 0); }); },
               FaultReason::ContextNotPresent});
  v.push_back({"Legacy_ContextReservedLow", false, 0, [](F& f) { set_raw_bit(f, f.dev.ctx_pa, 4); },
               FaultReason::ContextReserved});
  v.push_back({"Legacy_ContextReservedHigh", false, 0,
               [](F& f) { set_raw_bit(f, f.dev.ctx_pa, 64 + 30); }, FaultReason::ContextReserved});
  v.push_back({"Legacy_ContextInvalidTt3", false, 0,
               [](F& f) { edit_ctx(f, [](Entry& e) { e.set(Field::TT, 3); }); },
               FaultReason::ContextInvalid});
  for (uint8_t aw : {0, 4, 7})
    v.push_back({"Legacy_ContextInvalidAw" + std::to_string(aw), false, 0,
                 [aw](F& f) { edit_ctx(f, [aw](Entry& e) { e.set(Field::AW, aw); }); },
                 FaultReason::ContextInvalid});
  v.push_back({"Legacy_PasidDisabledForRequestWithPasid", false, 0, [](F& f) { f.req.pasid = 1; },
               FaultReason::PasidDisabled});
  v.push_back({"Legacy_PteNotPresent", false, 0,
               [](F& f) { edit_pte(f, f.dev.ss, kIova, 1, [](Entry& e) { e = Entry(e.kind); }); },
               FaultReason::PteNotPresent});
  v.push_back({"Legacy_WriteDenied", false, 0,
               [](F& f) {
                 edit_pte(f, f.dev.ss, kIova, 1, [](Entry& e) { e.set(Field::W, 0); });
                 f.req.access = Access::Write;
               },
               FaultReason::WriteDenied});
  v.push_back({"Legacy_AddressBeyondWidth", false, 0, [](F& f) { f.req.iova = 1ull << 48; },
               FaultReason::AddressBeyondWidth});
  return v;
}

void PrintTo(const FaultCase& c, std::ostream* os) {
  *os << c.name;
}

class WalkFault : public ::testing::TestWithParam<FaultCase> {};

TEST_P(WalkFault, Walker_ReportsFaultReason) {
  const FaultCase& c = GetParam();
  auto f = make_fault_env(c);
  // The unbroken setup translates.
  {
    Translation ok = f->env.translate(f->req.sid, f->req.pasid, f->req.iova);
    ASSERT_TRUE(ok.ok()) << fault_reason_name(ok.fault);
    f->env.flush_caches();
  }
  c.breakage(*f);
  f->env.rec.clear();
  Translation t = f->env.iommu().translate(f->req);
  EXPECT_EQ(t.fault, c.want) << "got " << fault_reason_name(t.fault);
  EXPECT_FALSE(t.fpd);
  // Recorded like a fault-recording register, and reported as an event.
  const auto& log = f->env.iommu().faults().entries();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].reason, c.want);
  EXPECT_EQ(log[0].sid, f->req.sid);
  EXPECT_EQ(log[0].pasid, f->req.pasid);
  EXPECT_EQ(log[0].addr, f->req.iova);
  EXPECT_EQ(log[0].access, f->req.access);
  auto ev = f->env.rec.of(EventKind::Fault);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].e.fault, c.want);
  // A fault is not cached as a translation (a write to a read-only page
  // leaves the read-only translation, which is valid for reads).
  for (const auto& [key, x] : f->env.caches().iotlb()) {
    EXPECT_EQ(c.want, FaultReason::WriteDenied);
    EXPECT_FALSE(x.writable);
  }
}

std::string fault_name(const ::testing::TestParamInfo<FaultCase>& i) {
  return i.param.name;
}

INSTANTIATE_TEST_SUITE_P(Reasons, WalkFault, ::testing::ValuesIn(fault_cases()), fault_name);

// ----------------------------------------------------------- other rules

// PDTS sizes the directory: a PASID out of range for PDTS=0 is in range for
// PDTS=1.
TEST(WalkerPasid, Pdts_LargerDirectoryBringsPasidInRange) {
  Env env;
  Device d = add_scalable(env, kSid, 0, kPgttSecond, kDid, kIova, data_page(1));
  env.b->set_pasid_entry(kSid, 8192, TableBuilder::pasid_fields(kPgttSecond, kDid, &d.ss, nullptr));
  EXPECT_EQ(env.translate(kSid, 8192, kIova).fault, FaultReason::PasidOutOfRange);
  env.edit(EntryKind::ScalableContext, d.ctx_pa, [](Entry& e) { e.set(Field::PDTS, 1); });
  env.flush_caches();
  Translation t = env.translate(kSid, 8192, kIova);
  ASSERT_TRUE(t.ok()) << fault_reason_name(t.fault);
  EXPECT_EQ(t.pa, data_page(1));
}

// A request without PASID uses RID_PASID; one with PASID uses its own entry.
TEST(WalkerPasid, RidPasid_SelectsEntryForRequestsWithoutPasid) {
  Env env;
  add_scalable(env, kSid, 9, kPgttSecond, 3, kIova, data_page(1), 4, true, 9);
  PageTables other = env.b->new_tables(false, 4);
  env.b->map(other, kIova, data_page(2));
  env.b->set_pasid_entry(kSid, 0, TableBuilder::pasid_fields(kPgttSecond, 4, &other, nullptr));
  Translation a = env.translate(kSid, kNoPasid, kIova);
  Translation b = env.translate(kSid, 0, kIova);
  Translation c = env.translate(kSid, 9, kIova);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a.pa, data_page(1));
  EXPECT_EQ(a.did, 3);
  EXPECT_EQ(b.pa, data_page(2));
  EXPECT_EQ(b.did, 4);
  EXPECT_EQ(c.pa, data_page(1));
}

// FPD=1 suppresses fault recording but the request still fails.
TEST(WalkerFpd, FaultProcessingDisabled_FaultNotRecorded) {
  for (bool fpd : {false, true}) {
    Env env;
    Device d = add_scalable(env, kSid, 0, kPgttSecond, kDid, kIova, data_page(1));
    env.edit(EntryKind::PasidEntry, d.pe_pa, [fpd](Entry& e) { e.set(Field::FPD, fpd); });
    Translation t = env.translate(kSid, kNoPasid, kIova + kPageSize);
    EXPECT_EQ(t.fault, FaultReason::PteNotPresent);
    EXPECT_EQ(t.fpd, fpd);
    EXPECT_EQ(env.iommu().faults().entries().size(), fpd ? 0u : 1u);
  }
  for (bool fpd : {false, true}) {
    Env env(legacy_config());
    Device d = add_legacy(env, kSid, kTtTranslate, kDid, kIova, data_page(1));
    env.edit(EntryKind::LegacyContext, d.ctx_pa, [fpd](Entry& e) { e.set(Field::FPD, fpd); });
    Translation t = env.translate(kSid, kNoPasid, kIova + kPageSize);
    EXPECT_EQ(t.fault, FaultReason::PteNotPresent);
    EXPECT_EQ(env.iommu().faults().entries().size(), fpd ? 0u : 1u);
  }
}

// Faults are recorded like the fault-recording registers: a fixed number,
// the rest counted as overflow.
TEST(WalkerFaultLog, FaultLog_OverflowsPastCapacity) {
  Env env;
  add_scalable(env, kSid, 0, kPgttSecond, kDid, kIova, data_page(1));
  const size_t n = FaultLog::kCapacity + 44;
  for (size_t i = 0; i < n; ++i)
    EXPECT_FALSE(env.translate(kSid, kNoPasid, kIova + (i + 1) * kPageSize).ok());
  EXPECT_EQ(env.iommu().faults().entries().size(), FaultLog::kCapacity);
  EXPECT_EQ(env.iommu().faults().overflowed(), 44u);
  EXPECT_EQ(env.iommu().faults().entries()[3].addr, kIova + 4 * kPageSize);
  EXPECT_NE(env.iommu().faults().entries()[0].str().find("pte-not-present"), std::string::npos);
}

// With 64-bit quanta every 128-bit entry is two reads and the PASID entry
// eight; with 128-bit quanta one and four.
TEST(WalkerQuanta, EntryIsFetchedInQuantumSizedReads) {
  for (uint8_t qbits : {64, 128}) {
    Config cfg;
    cfg.quantum_bits = qbits;
    Env env(cfg);
    add_scalable(env, kSid, 0, kPgttSecond, kDid, kIova, data_page(1));
    ASSERT_TRUE(env.translate(kSid, kNoPasid, kIova).ok());
    std::map<EntryKind, int> reads;
    for (const auto& r : env.rec.of(EventKind::Read)) ++reads[r.e.entry_kind];
    const int q = qbits / 64;
    EXPECT_EQ(reads[EntryKind::ScalableRoot], 2 / q);
    EXPECT_EQ(reads[EntryKind::ScalableContext], 2 / q);  // low 128 bits only
    EXPECT_EQ(reads[EntryKind::PasidDir], 1);
    EXPECT_EQ(reads[EntryKind::PasidEntry], 8 / q);
    EXPECT_EQ(reads[EntryKind::SsPte], 4);
  }
}

// DMA: the access lands at the translated address; a removed device's
// requests fail; an ATS device keeps the translation in its device-TLB.
TEST(WalkerDma, Dma_WritesAndReadsTranslatedAddress) {
  Env env;
  add_scalable(env, kSid, 0, kPgttSecond, kDid, kIova, data_page(7));
  env.iommu().device_plug(kSid, false);
  DmaResult w = env.iommu().dma({kSid, kNoPasid, kIova + 0x18, Access::Write, 0xfeedf00d});
  ASSERT_TRUE(w.done) << fault_reason_name(w.xlat.fault);
  EXPECT_EQ(env.m->mem.hw_load(data_page(7) + 0x18), 0xfeedf00du);
  DmaResult r = env.iommu().dma({kSid, kNoPasid, kIova + 0x18, Access::Read, 0});
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.value, 0xfeedf00du);
  EXPECT_FALSE(r.via_devtlb);
  env.iommu().device_unplug(kSid);
  DmaResult gone = env.iommu().dma({kSid, kNoPasid, kIova, Access::Read, 0});
  EXPECT_FALSE(gone.done);
  EXPECT_EQ(gone.xlat.fault, FaultReason::DeviceAbsent);
}

TEST(WalkerDma, Ats_DeviceTlbServesLaterRequests) {
  for (bool dte : {false, true}) {
    Env env;
    add_scalable(env, kSid, 0, kPgttSecond, kDid, kIova, data_page(7), 4, true, 0, dte);
    env.iommu().device_plug(kSid, true);
    DmaResult a = env.iommu().dma({kSid, kNoPasid, kIova, Access::Read, 0});
    ASSERT_TRUE(a.done);
    EXPECT_EQ(a.xlat.ats, dte);
    DmaResult b = env.iommu().dma({kSid, kNoPasid, kIova, Access::Read, 0});
    EXPECT_EQ(b.via_devtlb, dte);
    EXPECT_EQ(env.caches().size(CacheKind::DevTlb), dte ? 1u : 0u);
  }
}

}  // namespace
}  // namespace vtd::sim

// A fixed catalog of domains (one of each kind the transitions need, each
// with a distinct mapping of kIova) and the moves between them, shared by
// the transition matrix and the invalidation-rule suites.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "tests/driver/driver_test_util.h"

namespace vtd::drvtest {

enum class Dom : uint8_t { None, SsA, SsB, FsA, FsB, NestA, NestB, Parent, Ident, Sva };

constexpr Iova kIova = 0x1000;
// The PASID the PASID moves use: the first SVA domain is bound to PASID 1.
constexpr uint32_t kPasid = 1;
// Nested domains map kIova to these GPAs; the parent maps them to data.
constexpr PhysAddr kGpaA = 0x40000000, kGpaB = 0x40001000;

// The catalog, one row a domain in Dom's order: its type, the PGTT an
// entry attaching it carries, and where kIova lands through it (identity:
// kIova itself; None: nowhere).
struct DomInfo {
  const char* name;
  DomainType type;
  uint8_t pgtt;
  PhysAddr pa;
};
inline const DomInfo& dom_info(Dom d) {
  static const DomInfo kDoms[] = {
      {"None", DomainType::SecondStage, sim::kPgttSecond, 0},
      {"SsA", DomainType::SecondStage, sim::kPgttSecond, data_pa(1)},
      {"SsB", DomainType::SecondStage, sim::kPgttSecond, data_pa(2)},
      {"FsA", DomainType::FirstStage, sim::kPgttFirst, data_pa(3)},
      {"FsB", DomainType::FirstStage, sim::kPgttFirst, data_pa(4)},
      {"NestA", DomainType::Nested, sim::kPgttNested, data_pa(5)},
      {"NestB", DomainType::Nested, sim::kPgttNested, data_pa(6)},
      {"Parent", DomainType::SecondStage, sim::kPgttSecond, data_pa(8)},
      {"Ident", DomainType::Identity, sim::kPgttPassThrough, kIova},
      {"Sva", DomainType::Sva, sim::kPgttFirst, data_pa(7)},
  };
  return kDoms[size_t(d)];
}
inline const char* dom_name(Dom d) {
  return dom_info(d).name;
}
inline DomainId dom_id(Dom d) {
  return DomainId(d);
}
inline DomainType dom_type(Dom d) {
  return dom_info(d).type;
}
inline bool dom_valid(Dom d, bool scalable) {
  if (d == Dom::None) return true;
  DomainType t = dom_type(d);
  return scalable || t == DomainType::SecondStage || t == DomainType::Identity;
}
inline PhysAddr dom_pa(Dom d) {
  return dom_info(d).pa;
}
inline uint8_t dom_pgtt(Dom d) {
  return dom_info(d).pgtt;
}
// The DID the entry must carry: Linux's FLPT_DEFAULT_DID (1) for
// pass-through and SVA, the domain's own DID otherwise.
inline uint16_t expected_did(const Rig& r, Dom d) {
  DomainType t = dom_type(d);
  if (t == DomainType::Identity || t == DomainType::Sva) return drv::DidAllocator::kDefaultDid;
  return r.d.did_of(dom_id(d));
}

// Allocates (and maps) every domain of the catalog the mode supports.
inline Status alloc_domains(Rig& r) {
  const bool sm = r.platform.scalable;
  const uint8_t rw = drv::kRead | drv::kWrite;
  for (Dom d : {Dom::SsA, Dom::SsB, Dom::FsA, Dom::FsB, Dom::Parent, Dom::Sva}) {
    if (!dom_valid(d, sm)) continue;
    if (Status s = r.d.domain_alloc(dom_id(d), dom_type(d)); !ok(s)) return s;
    if (Status s = r.d.map(dom_id(d), kIova, dom_pa(d), sim::kPageSize, rw); !ok(s)) return s;
  }
  if (sm) {
    for (auto [d, gpa] : {std::pair{Dom::NestA, kGpaA}, std::pair{Dom::NestB, kGpaB}}) {
      if (Status s = r.d.domain_alloc(dom_id(d), DomainType::Nested, dom_id(Dom::Parent)); !ok(s))
        return s;
      if (Status s = r.d.map(dom_id(d), kIova, gpa, sim::kPageSize, rw); !ok(s)) return s;
      if (Status s = r.d.map(dom_id(Dom::Parent), gpa, dom_pa(d), sim::kPageSize, rw); !ok(s))
        return s;
    }
  }
  return r.d.domain_alloc(dom_id(Dom::Ident), DomainType::Identity);
}

enum class Where : uint8_t { Rid, Pasid };

// One move of (device, RID or PASID) between two catalog domains.
struct Move {
  bool scalable = true;
  Where where = Where::Rid;
  Dom from = Dom::None, to = Dom::None;

  uint32_t pasid() const { return where == Where::Pasid ? kPasid : drv::kRidPasid; }
  const char* op() const {
    if (where == Where::Pasid) return to == Dom::None ? "remove_pasid" : "set_pasid";
    if (from == Dom::None) return "attach";
    return to == Dom::None ? "detach" : "replace";
  }
  std::string name() const {
    std::string s = !scalable ? "Legacy" : where == Where::Rid ? "Rid" : "Pasid";
    return s + "_" + dom_name(from) + "_to_" + dom_name(to);
  }
};

inline void PrintTo(const Move& m, std::ostream* os) {
  *os << m.name();
}

// The API call that moves (sid, where) from `from` to `to`.
inline Status apply(Rig& r, Sid sid, Where where, Dom from, Dom to) {
  if (where == Where::Pasid) {
    if (to == Dom::None) return r.d.remove_pasid(sid, kPasid);
    return r.d.set_pasid(sid, kPasid, dom_id(to));
  }
  if (to == Dom::None) return r.d.detach(sid);
  if (from == Dom::None) return r.d.attach(sid, dom_id(to));
  return r.d.replace(sid, dom_id(to));
}
inline Status apply(Rig& r, Sid sid, const Move& mv) {
  return apply(r, sid, mv.where, mv.from, mv.to);
}

// Every move the matrix covers. Two second-stage (or first-stage) domains
// never share a DID through this API (a domain gets its own DID at its first
// attachment and keeps it while attached), so "replace with the same DID"
// is covered by the two domain kinds that do share one, DID 1: identity
// (pass-through) <-> SVA (first-stage) on a PASID.
inline std::vector<Move> all_moves() {
  using D = Dom;
  std::vector<Move> v;
  // The moves of one entry: attached to each of `to`, the replaces, then
  // detached from each of `from`.
  auto add = [&](bool scalable, Where where, std::initializer_list<D> to,
                 std::initializer_list<std::pair<D, D>> replaces, std::initializer_list<D> from) {
    for (D t : to) v.push_back({scalable, where, D::None, t});
    for (auto [a, b] : replaces) v.push_back({scalable, where, a, b});
    for (D f : from) v.push_back({scalable, where, f, D::None});
  };
  // RID (RID_PASID entry) in scalable mode.
  const auto rid = {D::SsA, D::FsA, D::NestA, D::Ident};
  add(true, Where::Rid, rid,
      {{D::SsA, D::SsB},
       {D::FsA, D::FsB},
       {D::SsA, D::FsA},
       {D::FsA, D::SsA},
       {D::Ident, D::SsA},
       {D::SsA, D::Ident},
       {D::Ident, D::FsA},
       {D::FsA, D::Ident},
       {D::NestA, D::NestB},
       {D::NestA, D::Parent},
       {D::Parent, D::NestA}},
      rid);
  // A PASID.
  const auto pasid = {D::SsA, D::FsA, D::NestA, D::Ident, D::Sva};
  add(true, Where::Pasid, pasid,
      {{D::SsA, D::SsB},
       {D::FsA, D::FsB},
       {D::SsA, D::FsA},
       {D::FsA, D::SsA},
       {D::Ident, D::Sva},  // same DID (1): pass-through -> first-stage
       {D::Sva, D::Ident},  // same DID (1): first-stage -> pass-through
       {D::Sva, D::FsA},
       {D::NestA, D::NestB}},
      pasid);
  // Legacy-mode context entries.
  add(false, Where::Rid, {D::SsA, D::Ident},
      {{D::SsA, D::SsB}, {D::SsA, D::Ident}, {D::Ident, D::SsA}}, {D::SsA});
  return v;
}

// A reference translation through the tables gives the target's mapping
// (call after flushing the caches: it then reads memory only).
inline void ExpectTranslation(Rig& r, Sid sid, uint32_t pasid, Dom to) {
  const sim::Translation t = r.translate(sid, pasid, kIova);
  if (to == Dom::None) {
    EXPECT_FALSE(t.ok()) << "translated to 0x" << std::hex << t.pa;
    return;
  }
  ASSERT_TRUE(t.ok()) << sim::fault_reason_name(t.fault);
  EXPECT_EQ(t.pa, dom_pa(to));
  EXPECT_EQ(t.did, expected_did(r, to));
  EXPECT_EQ(t.pgtt, dom_pgtt(to));
}

// A DMA (through whatever the hardware has cached) reaches the target's
// memory, or faults when blocked.
inline void ExpectDma(Rig& r, Sid sid, uint32_t pasid, Dom to, uint64_t value) {
  if (to == Dom::None) {
    EXPECT_FALSE(r.dma_read(sid, pasid, kIova).xlat.ok());
    return;
  }
  if (to == Dom::Ident) {
    const sim::DmaResult d = r.dma_read(sid, pasid, kIova);
    ASSERT_TRUE(d.xlat.ok()) << sim::fault_reason_name(d.xlat.fault);
    EXPECT_EQ(d.xlat.pa, kIova);
    return;
  }
  const sim::DmaResult d = r.dma_write(sid, pasid, kIova, value);
  ASSERT_TRUE(d.xlat.ok()) << sim::fault_reason_name(d.xlat.fault);
  EXPECT_EQ(d.xlat.pa, dom_pa(to));
  EXPECT_EQ(r.m.mem.load(dom_pa(to)), value);
}

}  // namespace vtd::drvtest

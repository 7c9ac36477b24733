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

inline const char* dom_name(Dom d) {
  static const char* const kNames[] = {"None",  "SsA",   "SsB",    "FsA",   "FsB",
                                       "NestA", "NestB", "Parent", "Ident", "Sva"};
  return kNames[size_t(d)];
}
inline DomainId dom_id(Dom d) {
  return DomainId(d);
}

constexpr Iova kIova = 0x1000;
// The PASID the PASID moves use: the first SVA domain is bound to PASID 1.
constexpr uint32_t kPasid = 1;
// Nested domains map kIova to these GPAs; the parent maps them to data.
constexpr PhysAddr kGpaA = 0x40000000, kGpaB = 0x40001000;

inline DomainType dom_type(Dom d) {
  switch (d) {
    case Dom::FsA:
    case Dom::FsB:
      return DomainType::FirstStage;
    case Dom::NestA:
    case Dom::NestB:
      return DomainType::Nested;
    case Dom::Ident:
      return DomainType::Identity;
    case Dom::Sva:
      return DomainType::Sva;
    default:
      return DomainType::SecondStage;
  }
}
inline bool dom_valid(Dom d, bool scalable) {
  if (d == Dom::None) return true;
  DomainType t = dom_type(d);
  return scalable || t == DomainType::SecondStage || t == DomainType::Identity;
}
// Where kIova lands through the domain (identity: kIova itself).
inline PhysAddr dom_pa(Dom d) {
  switch (d) {
    case Dom::SsA:
      return data_pa(1);
    case Dom::SsB:
      return data_pa(2);
    case Dom::FsA:
      return data_pa(3);
    case Dom::FsB:
      return data_pa(4);
    case Dom::NestA:
      return data_pa(5);
    case Dom::NestB:
      return data_pa(6);
    case Dom::Sva:
      return data_pa(7);
    case Dom::Parent:
      return data_pa(8);
    case Dom::Ident:
      return kIova;
    case Dom::None:
      break;
  }
  return 0;
}
inline uint8_t dom_pgtt(Dom d) {
  switch (dom_type(d)) {
    case DomainType::FirstStage:
    case DomainType::Sva:
      return sim::kPgttFirst;
    case DomainType::Nested:
      return sim::kPgttNested;
    case DomainType::Identity:
      return sim::kPgttPassThrough;
    default:
      return sim::kPgttSecond;
  }
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
  auto rid = [&](D a, D b) { v.push_back({true, Where::Rid, a, b}); };
  auto pasid = [&](D a, D b) { v.push_back({true, Where::Pasid, a, b}); };
  auto legacy = [&](D a, D b) { v.push_back({false, Where::Rid, a, b}); };
  // RID (RID_PASID entry) in scalable mode.
  for (D t : {D::SsA, D::FsA, D::NestA, D::Ident}) rid(D::None, t);
  rid(D::SsA, D::SsB);
  rid(D::FsA, D::FsB);
  rid(D::SsA, D::FsA);
  rid(D::FsA, D::SsA);
  rid(D::Ident, D::SsA);
  rid(D::SsA, D::Ident);
  rid(D::Ident, D::FsA);
  rid(D::FsA, D::Ident);
  rid(D::NestA, D::NestB);
  rid(D::NestA, D::Parent);
  rid(D::Parent, D::NestA);
  for (D f : {D::SsA, D::FsA, D::NestA, D::Ident}) rid(f, D::None);
  // A PASID.
  for (D t : {D::SsA, D::FsA, D::NestA, D::Ident, D::Sva}) pasid(D::None, t);
  pasid(D::SsA, D::SsB);
  pasid(D::FsA, D::FsB);
  pasid(D::SsA, D::FsA);
  pasid(D::FsA, D::SsA);
  pasid(D::Ident, D::Sva);  // same DID (1): pass-through -> first-stage
  pasid(D::Sva, D::Ident);  // same DID (1): first-stage -> pass-through
  pasid(D::Sva, D::FsA);
  pasid(D::NestA, D::NestB);
  for (D f : {D::SsA, D::FsA, D::NestA, D::Ident, D::Sva}) pasid(f, D::None);
  // Legacy-mode context entries.
  legacy(D::None, D::SsA);
  legacy(D::None, D::Ident);
  legacy(D::SsA, D::SsB);
  legacy(D::SsA, D::Ident);
  legacy(D::Ident, D::SsA);
  legacy(D::SsA, D::None);
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

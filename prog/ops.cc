// The op table (DESIGN.md section 8): every op, its arguments in order and
// how each is spelled; the facts the harness, the oracle and the race
// harness derive their lists of API calls from.
#include <algorithm>

#include "prog/table.h"
#include "simulator/memory.h"

namespace vtd::prog {
namespace detail {

constexpr uint64_t kPasidNone = kNoPasidArg;

constexpr OpSpec kSpecs[] = {
    {OpKind::Domain,
     "domain",
     OpClass::Api,
     {{Arg::Dom, Style::Pos, "", 0, true},
      {Arg::DType, Style::Pos, "", 0, true},
      {Arg::Parent, Style::Key, "parent", 0, false},
      {Arg::Levels, Style::Key, "levels", 4, false}}},
    {OpKind::Free, "free", OpClass::Api, {{Arg::Dom, Style::Pos, "", 0, true}}},
    {OpKind::Map,
     "map",
     OpClass::Api,
     {{Arg::Dom, Style::Pos, "", 0, true},
      {Arg::Iova, Style::Key, "iova", 0, true},
      {Arg::Pa, Style::Key, "pa", 0, true},
      {Arg::Size, Style::Key, "size", 0, false},
      {Arg::Perm, Style::Pos, "", 3, true}}},
    {OpKind::Unmap,
     "unmap",
     OpClass::Api,
     {{Arg::Dom, Style::Pos, "", 0, true},
      {Arg::Iova, Style::Key, "iova", 0, true},
      {Arg::Size, Style::Key, "size", 0, false}}},
    {OpKind::Probe,
     "probe",
     OpClass::Api,
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Ats, Style::Flag, "ats", 0, false},
      {Arg::PasidCap, Style::Flag, "pasid", 0, false}}},
    {OpKind::Release, "release", OpClass::Api, {{Arg::Dev, Style::Key, "dev", 0, true}}},
    {OpKind::Vfs,
     "vfs",
     OpClass::Api,
     {{Arg::Dev, Style::Key, "dev", 0, true}, {Arg::N, Style::Key, "n", 1, false}}},
    {OpKind::SurpriseRemove,
     "surprise-remove",
     OpClass::Api,
     {{Arg::Dev, Style::Key, "dev", 0, true}}},
    {OpKind::Attach,
     "attach",
     OpClass::Api,
     {{Arg::Dev, Style::Key, "dev", 0, true}, {Arg::Dom, Style::Key, "domain", 0, true}}},
    {OpKind::Replace,
     "replace",
     OpClass::Api,
     {{Arg::Dev, Style::Key, "dev", 0, true}, {Arg::Dom, Style::Key, "domain", 0, true}}},
    {OpKind::Detach, "detach", OpClass::Api, {{Arg::Dev, Style::Key, "dev", 0, true}}},
    {OpKind::SetPasid,
     "set-pasid",
     OpClass::Api,
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false},
      {Arg::Dom, Style::Key, "domain", 0, true}}},
    {OpKind::RemovePasid,
     "remove-pasid",
     OpClass::Api,
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false}}},
    {OpKind::FailNth, "fail-nth", OpClass::Inject, {{Arg::N, Style::Pos, "", 0, true}}},
    {OpKind::Inject, "inject", OpClass::Inject, {{Arg::QErr, Style::Pos, "", 0, true}}},
    {OpKind::Dma,
     "dma",
     OpClass::Step,
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false},
      {Arg::Iova, Style::Key, "iova", 0, true},
      {Arg::Access, Style::Pos, "", 0, true}}},
    {OpKind::Memcpy,
     "memcpy",
     OpClass::Step,
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false},
      {Arg::Iova, Style::Key, "src", 0, true},
      {Arg::Dst, Style::Key, "dst", 0, true}}},
    {OpKind::Walk,
     "walk",
     OpClass::Step,
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false},
      {Arg::Iova, Style::Key, "iova", 0, true},
      {Arg::Split, Style::Key, "split", 0, false}}},
    {OpKind::ResumeWalks, "resume-walks", OpClass::Step, {}},
    {OpKind::Evict,
     "evict",
     OpClass::Step,
     {{Arg::Cache, Style::Pos, "", 0, true}, {Arg::Index, Style::Key, "index", 0, false}}},
    {OpKind::Writeback, "writeback", OpClass::Step, {{Arg::Index, Style::Key, "index", 0, false}}},
    {OpKind::ProcessQueue, "process-queue", OpClass::Step, {{Arg::N, Style::Key, "n", 0, false}}},
    {OpKind::Cpu2, "cpu2", OpClass::Cpu2, {}},
    {OpKind::PreserveDomain,
     "preserve-domain",
     OpClass::Api,
     {{Arg::Dom, Style::Pos, "", 0, true}}},
    {OpKind::UnpreserveDomain,
     "unpreserve-domain",
     OpClass::Api,
     {{Arg::Dom, Style::Pos, "", 0, true}}},
    {OpKind::Preserve, "preserve", OpClass::Api, {{Arg::Dev, Style::Key, "dev", 0, true}}},
    {OpKind::Unpreserve, "unpreserve", OpClass::Api, {{Arg::Dev, Style::Key, "dev", 0, true}}},
    {OpKind::Kexec, "kexec", OpClass::Api, {}},
    {OpKind::Restore, "restore", OpClass::Api, {}},
    {OpKind::Finish, "finish", OpClass::Api, {}},
    // vIOMMU (DESIGN.md section 13). `assign` hands a host device to the
    // guest at a guest BDF; the guest ops name guest devices and domains.
    {OpKind::Assign,
     "assign",
     OpClass::Guest,
     {{Arg::Host, Style::Key, "host", 0, true}, {Arg::Dev, Style::Key, "guest", 0, true}}},
    {OpKind::GEntry,
     "g.entry",
     OpClass::Guest,
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false},
      {Arg::Pgtt, Style::Key, "pgtt", 0, true},
      {Arg::Did, Style::Key, "did", 0, false},
      {Arg::Ptr, Style::Key, "fsptptr", 0, false},
      {Arg::Fspm, Style::Key, "fspm", 0, false},
      {Arg::S1Flags, Style::Key, "flags", 0, false},
      {Arg::Np, Style::Flag, "np", 0, false}}},
    {OpKind::GCtx,
     "g.ctx",
     OpClass::Guest,
     {{Arg::Dev, Style::Key, "dev", 0, true}, {Arg::Np, Style::Flag, "np", 0, false}}},
    {OpKind::GInv,
     "g.inv",
     OpClass::Guest,
     {{Arg::DescType, Style::Pos, "", 0, true},
      {Arg::Gran, Style::Key, "g", 0, false},
      {Arg::Did, Style::Key, "did", 0, false},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false},
      {Arg::Dev, Style::Key, "dev", 0, false},
      {Arg::NoWait, Style::Flag, "nowait", 0, false}}},
    {OpKind::GDmar, "g.dmar", OpClass::Guest, {{Arg::Mode, Style::Pos, "", 0, true}}},
    {OpKind::GReset, "g.reset", OpClass::Guest, {}},
    {OpKind::GDomain,
     "g.domain",
     OpClass::Guest,
     {{Arg::Dom, Style::Pos, "", 0, true},
      {Arg::DType, Style::Pos, "", 0, true},
      {Arg::Parent, Style::Key, "parent", 0, false},
      {Arg::Levels, Style::Key, "levels", 4, false}}},
    {OpKind::GFree, "g.free", OpClass::Guest, {{Arg::Dom, Style::Pos, "", 0, true}}},
    {OpKind::GMap,
     "g.map",
     OpClass::Guest,
     {{Arg::Dom, Style::Pos, "", 0, true},
      {Arg::Iova, Style::Key, "iova", 0, true},
      {Arg::Pa, Style::Key, "pa", 0, true},
      {Arg::Size, Style::Key, "size", 0, false},
      {Arg::Perm, Style::Pos, "", 3, true}}},
    {OpKind::GUnmap,
     "g.unmap",
     OpClass::Guest,
     {{Arg::Dom, Style::Pos, "", 0, true},
      {Arg::Iova, Style::Key, "iova", 0, true},
      {Arg::Size, Style::Key, "size", 0, false}}},
    {OpKind::GAttach,
     "g.attach",
     OpClass::Guest,
     {{Arg::Dev, Style::Key, "dev", 0, true}, {Arg::Dom, Style::Key, "domain", 0, true}}},
    {OpKind::GReplace,
     "g.replace",
     OpClass::Guest,
     {{Arg::Dev, Style::Key, "dev", 0, true}, {Arg::Dom, Style::Key, "domain", 0, true}}},
    {OpKind::GDetach, "g.detach", OpClass::Guest, {{Arg::Dev, Style::Key, "dev", 0, true}}},
    {OpKind::GPasidSet,
     "g.pasid-set",
     OpClass::Guest,
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false},
      {Arg::Dom, Style::Key, "domain", 0, true}}},
    {OpKind::GPasidRemove,
     "g.pasid-remove",
     OpClass::Guest,
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false}}},
};
static_assert(sizeof(kSpecs) / sizeof(kSpecs[0]) == size_t(OpKind::kCount));

const OpSpec& spec(OpKind k) {
  return kSpecs[size_t(k)];
}

std::span<const OpSpec> specs() {
  return kSpecs;
}

namespace {
constexpr OpKind kSteps[] = {OpKind::Dma,          OpKind::Memcpy, OpKind::Walk,
                             OpKind::ResumeWalks,  OpKind::Evict,  OpKind::Writeback,
                             OpKind::ProcessQueue, OpKind::Cpu2};
// Version 3 appends probe: a second CPU probing and attaching a device
// while the shutdown clears entries (DESIGN.md section 12, B27).
constexpr OpKind kCpu2Ops[] = {OpKind::Map,         OpKind::Unmap,   OpKind::Attach,
                               OpKind::Detach,      OpKind::Replace, OpKind::SetPasid,
                               OpKind::RemovePasid, OpKind::Probe};
constexpr size_t kV2Cpu2Ops = 7;

}  // namespace

std::span<const OpKind> steps(uint8_t version) {
  (void)version;  // version 3 has added no hardware step yet
  return kSteps;
}

std::span<const OpKind> cpu2_ops(uint8_t version) {
  return version >= 3 ? std::span<const OpKind>(kCpu2Ops)
                      : std::span<const OpKind>(kCpu2Ops, kV2Cpu2Ops);
}

namespace {
// The op kinds version 3 added (after cpu2), in their record order: the
// others first, then the guest ops, which only a program that names a
// propagator has; so a record number never depends on whether it does.
struct V3Records {
  std::vector<OpKind> all;
  size_t plain = 0;  // the first `plain` are not guest ops
  V3Records() {
    for (size_t k = size_t(OpKind::Cpu2) + 1; k < size_t(OpKind::kCount); ++k)
      if (kSpecs[k].cls != OpClass::Guest) all.push_back(OpKind(k));
    plain = all.size();
    for (size_t k = size_t(OpKind::Cpu2) + 1; k < size_t(OpKind::kCount); ++k)
      if (kSpecs[k].cls == OpClass::Guest) all.push_back(OpKind(k));
  }
};
const V3Records& v3_records() {
  static const V3Records r;  // immutable after its first use
  return r;
}
}  // namespace

std::span<const OpKind> v3_ops(bool guest) {
  const V3Records& r = v3_records();
  return std::span<const OpKind>(r.all).first(guest ? r.all.size() : r.plain);
}

uint8_t records(uint8_t version, bool guest) {
  return uint8_t(kChoiceRecord + 1 + (version >= 3 ? v3_ops(guest).size() : 0));
}

uint8_t record_of(OpKind k) {
  if (k < OpKind::Cpu2) return uint8_t(k);
  const std::span<const OpKind> all = v3_ops(true);
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i] == k) return uint8_t(kChoiceRecord + 1 + i);
  return 0;
}

OpKind op_of_record(uint8_t r) {
  return r < kV2Ops ? OpKind(r) : v3_ops(true)[r - kChoiceRecord - 1];
}

// "page or raw": even values are page numbers, odd ones raw addresses.
uint64_t unpack_addr(uint64_t v) {
  return (v & 1) ? (v >> 1) : (v >> 1) << 12;
}
uint64_t pack_addr(uint64_t a) {
  return (a & 0xfff) ? (a << 1) | 1 : (a >> 12) << 1;
}

uint64_t data_base() {
  return sim::PhysMemory::Layout{}.data_base;
}

uint64_t wrap(Arg a, uint64_t v);

uint64_t decode_ref(const std::vector<uint64_t>& pool, Arg a, uint64_t v) {
  if (v < kRefs && !pool.empty()) return pool[pool.size() - 1 - v % pool.size()];
  return wrap(a == Arg::Parent ? Arg::Dom : a, v < kRefs ? v : v - kRefs);
}

uint64_t unwrap(Arg a, uint64_t v);

uint64_t encode_ref(const std::vector<uint64_t>& pool, Arg a, uint64_t v) {
  for (size_t k = 0; k < pool.size() && k < kRefs; ++k)
    if (pool[pool.size() - 1 - k] == v) return k;
  return kRefs + unwrap(a == Arg::Parent ? Arg::Dom : a, v);
}

namespace {
uint64_t fresh_id(const std::vector<uint64_t>& used) {
  for (uint64_t id = 1;; ++id)
    if (std::find(used.begin(), used.end(), id) == used.end()) return id;
}
uint64_t fresh_slot(const std::vector<uint64_t>& used) {
  for (uint16_t slot : kSlots)
    if (std::find(used.begin(), used.end(), slot) == used.end()) return slot;
  return kSlots[0];
}
}  // namespace

uint64_t Refs::fresh(Arg a) const {
  if (a == Arg::Dom) return fresh_id(doms);
  if (!reprobe.empty()) return reprobe.front();  // the new kernel probes what it had
  return fresh_slot(devs);
}

// A guest device takes the first guest slot no assign used; the host device
// the first slot no probe or assign used.
uint64_t Refs::fresh(OpKind k, Arg a) const {
  if (k == OpKind::GDomain) return fresh_id(gdoms);
  if (k == OpKind::Assign && a == Arg::Dev) return fresh_slot(gdevs);
  return fresh(a == Arg::Host ? Arg::Dev : a);
}

// Wraps a raw varint into the argument's range.
uint64_t wrap(Arg a, uint64_t v) {
  switch (a) {
    case Arg::Dom:
      return v % 255 + 1;
    case Arg::DType:
      return kDTypeByCode[v % 6];
    case Arg::Parent:
      return v % 256;
    case Arg::Levels:
      return kLevelsByCode[v % 3];
    case Arg::Dev:
      return v < 16 ? kSlots[v] : (v - 16) & 0xffff;
    case Arg::Ats:
    case Arg::PasidCap:
    case Arg::Access:
      return v & 1;
    case Arg::Pasid:
      return v % ((1u << 20) + 1);
    case Arg::Iova:
    case Arg::Dst:
      return unpack_addr(v) & kAddrMask;
    case Arg::Pa:
      return (data_base() + unpack_addr(v)) & kPaMask;
    case Arg::Size:
      return v % 3;
    case Arg::Perm:
      return v % 3 == 0 ? 3 : v % 3;
    case Arg::N:
    case Arg::Index:
      return v % 256;
    case Arg::Split:
      return v % 9;
    case Arg::Cache:
      return v % 5;
    case Arg::QErr:
      return v % 3;
    case Arg::Host:
      return wrap(Arg::Dev, v);
    case Arg::Pgtt:
    case Arg::S1Flags:
      return v % 8;
    case Arg::Did:
      return v & 0xffff;
    case Arg::Ptr:
      return (v << 12) & kPaMask;
    case Arg::Fspm:
    case Arg::Gran:
      return v % 4;
    case Arg::Np:
    case Arg::NoWait:
      return v & 1;
    case Arg::DescType:
      return v % 7;
    case Arg::Mode:
      return v % 3;
    case Arg::kCount:
      break;
  }
  return 0;
}

// The canonical varint of an in-range value (inverse of wrap).
uint64_t unwrap(Arg a, uint64_t v) {
  switch (a) {
    case Arg::Dom:
      return v - 1;
    case Arg::Levels:
      return v == 4 ? 0 : v == 5 ? 1 : 2;
    case Arg::Dev:
    case Arg::Host:
      for (uint64_t i = 0; i < 16; ++i)
        if (kSlots[i] == v) return i;
      return v + 16;
    case Arg::Ptr:
      return v >> 12;
    case Arg::Iova:
    case Arg::Dst:
      return pack_addr(v);
    case Arg::Pa:
      return pack_addr(v - data_base());
    case Arg::Perm:
      return v == 3 ? 0 : v;
    case Arg::DType:
      for (uint64_t i = 0; i < 6; ++i)
        if (kDTypeByCode[i] == v) return i;
      return 0;
    default:
      return v;
  }
}

}  // namespace detail

using namespace detail;

bool SchedPoint::operator==(const SchedPoint& o) const {
  return kind == o.kind && index == o.index && step == o.step;
}
bool Op::operator==(const Op& o) const {
  return kind == o.kind && a == o.a && sched == o.sched && choices == o.choices && sub == o.sub;
}

const char* op_name(OpKind k) {
  return spec(k).name;
}

OpClass op_class(OpKind k) {
  return spec(k).cls;
}

bool is_api(OpKind k) {
  return op_class(k) == OpClass::Api;
}

bool is_hw_step(OpKind k) {
  return op_class(k) == OpClass::Step;
}

bool is_guest(OpKind k) {
  return op_class(k) == OpClass::Guest;
}

bool is_cpu2_op(OpKind k) {
  for (OpKind s : cpu2_ops(3))
    if (s == k) return true;
  return false;
}

OpKind cpu2_kind(uint8_t index, uint8_t version) {
  const std::span<const OpKind> ops = cpu2_ops(version);
  return ops[index % ops.size()];
}

uint64_t size_of(const Op& op) {
  static const uint64_t kBytes[] = {4096, 2ull << 20, 1ull << 30};
  return kBytes[op.get(Arg::Size) % 3];
}

}  // namespace vtd::prog

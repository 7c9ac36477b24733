// Internals of the program format shared by its parts (prog/ops.cc: the op
// table; binary.cc, text.cc, dict.cc): argument specs, enum spellings,
// device slots, value wrapping and the references of the binary form.
// Not for use outside prog/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "prog/program.h"

namespace vtd::prog::detail {

enum class Style : uint8_t { Pos, Key, Flag };

struct ArgSpec {
  Arg arg;
  Style style;
  const char* key;  // Key / Flag name
  uint64_t def;     // omitted from text when equal (Key / Flag)
  bool always;      // Key printed even when default
};

struct OpSpec {
  OpKind kind;
  const char* name;
  OpClass cls;
  std::initializer_list<ArgSpec> args;
};

const OpSpec& spec(OpKind k);
std::span<const OpSpec> specs();

// The hardware steps a schedule point may run, and the ops the second CPU
// may run, in their binary order. Version 3 appends to the version-2
// lists (a version-2 index keeps its meaning).
std::span<const OpKind> steps(uint8_t version);
std::span<const OpKind> cpu2_ops(uint8_t version);

// Enum spellings.
inline constexpr const char* kDTypes[] = {"second-stage", "first-stage", "nested",
                                          "identity",     "blocking",    "sva"};
inline constexpr const char* kSizes[] = {"4K", "2M", "1G"};
inline constexpr const char* kPerms[] = {"", "r", "w", "rw"};
inline constexpr const char* kAccess[] = {"read", "write"};
inline constexpr const char* kCaches[] = {"context", "pasid", "iotlb", "psc", "devtlb"};
inline constexpr const char* kQErrs[] = {"iqe", "ite", "ice"};
// vIOMMU spellings: PGTT values 1-4 by name (the rest as numbers), guest
// descriptor types, g.dmar modes and the stage-1 flags (IOMMU_VTD_S1_*
// bit order: SRE, EAFE, WPE).
inline constexpr const char* kPgtts[] = {"0", "first", "second", "nested", "pt", "5", "6", "7"};
inline constexpr const char* kDescTypes[] = {"context",     "iotlb",   "devtlb", "piotlb",
                                             "pasid-cache", "pdevtlb", "wait"};
inline constexpr const char* kModes[] = {"off", "on", "legacy"};
inline constexpr const char* kS1Flags[] = {"sre", "eafe", "wpe"};
inline constexpr uint64_t kLevelsByCode[] = {4, 5, 3};
// Binary code -> domain type (DomainType order: second-stage, first-stage,
// nested, identity, blocking, sva). Zero is first-stage: the type whose
// entries change across two PASID-entry chunks, where most bugs live.
inline constexpr uint64_t kDTypeByCode[] = {1, 0, 3, 2, 5, 4};

// Device slots: small binary values name the devices programs use most.
inline constexpr uint16_t kSlots[] = {
    0x0010,  // 00:02.0
    0x0018,  // 00:03.0
    0x0020,  // 00:04.0  (an SR-IOV PF)
    0x0028,  // 00:05.0
    0x0011,  // 00:02.1
    0x0080,  // 00:10.0  (devfn 0x80: upper half of a scalable context table)
    0x0100,  // 01:00.0  (a VF of 00:.. on bus 1 after `vfs`)
    0x0101,  // 01:00.1
    0x0500,  // 05:00.0  (a PF whose VFs land on bus 6)
    0x0600,  // 06:00.0
    0x0601,  // 06:00.1
    0x00f8,  // 00:1f.0
    0x0300,  // 03:00.0
    0x0308,  // 03:01.0
    0x0102,  // 01:00.2
    0x0602,  // 06:00.2
};

uint64_t unpack_addr(uint64_t v);
uint64_t pack_addr(uint64_t a);
inline constexpr uint64_t kAddrMask = (1ull << 62) - 1;
inline constexpr uint64_t kPaMask = (1ull << 52) - 1;  // physical addresses: 52 bits
uint64_t data_base();                                  // the data region (PhysMemory::Layout)

// References. In the binary form an argument naming an existing domain or
// device is, below kRefs, an index among those created earlier in the
// program (0: the most recent) — so random bytes mostly name something
// that exists, as syzkaller's resources do; kRefs and above is an absolute
// id. The text form always shows absolute ids.
inline constexpr uint64_t kRefs = 64;

// Guest ops (the vIOMMU's) name guest devices (made by `assign`) and guest
// domains (made by `g.domain`); an assigned host device is a host device
// too (a `dma` names it).
struct Refs {
  std::vector<uint64_t> doms, devs;    // in creation order
  std::vector<uint64_t> gdoms, gdevs;  // the guest's
  // Live update: after a kexec the new kernel probes the devices again. A
  // fresh probe names them first, in creation order (the first is the
  // device the live-update setup preserves), and a re-probe or re-created
  // VF is not counted twice.
  std::vector<uint64_t> reprobe;
  void created(const Op& op) {
    auto again = [&](uint64_t dev) {
      auto it = std::find(reprobe.begin(), reprobe.end(), dev);
      if (it == reprobe.end()) return false;
      reprobe.erase(it);
      return true;
    };
    if (op.kind == OpKind::Kexec) reprobe = devs;
    if (op.kind == OpKind::Domain) doms.push_back(op.get(Arg::Dom));
    if (op.kind == OpKind::Probe && !again(op.get(Arg::Dev))) devs.push_back(op.get(Arg::Dev));
    if (op.kind == OpKind::GDomain) gdoms.push_back(op.get(Arg::Dom));
    if (op.kind == OpKind::Assign) {
      devs.push_back(op.get(Arg::Host));
      gdevs.push_back(op.get(Arg::Dev));
    }
    if (op.kind == OpKind::Vfs) {
      sim::Sid pf(uint16_t(op.get(Arg::Dev)));
      for (uint64_t i = 0; i < op.get(Arg::N) && i < 8 && pf.bus() < 0xff; ++i) {
        const uint64_t vf = sim::Sid(uint8_t(pf.bus() + 1), 0, uint8_t(i)).v;
        if (!again(vf)) devs.push_back(vf);
      }
    }
  }
  const std::vector<uint64_t>* pool(OpKind k, Arg a) const {
    if (creates(k, a)) return nullptr;
    const bool guest = is_guest(k);
    if (a == Arg::Dom || a == Arg::Parent) return guest ? &gdoms : &doms;
    if (a == Arg::Dev) return guest ? &gdevs : &devs;
    return nullptr;
  }
  // A creating argument (the id of a new domain, the device a probe or an
  // assign adds): 0 names a fresh one, so zero bytes make coherent programs.
  bool creates(OpKind k, Arg a) const {
    return ((k == OpKind::Domain || k == OpKind::GDomain) && a == Arg::Dom) ||
           (k == OpKind::Probe && a == Arg::Dev) ||
           (k == OpKind::Assign && (a == Arg::Dev || a == Arg::Host));
  }
  uint64_t fresh(Arg a) const;  // a host domain or device
  uint64_t fresh(OpKind k, Arg a) const;
};

// Wraps a raw varint into the argument's range; unwrap is its inverse (the
// canonical varint of an in-range value).
uint64_t wrap(Arg a, uint64_t v);
uint64_t unwrap(Arg a, uint64_t v);
uint64_t decode_ref(const std::vector<uint64_t>& pool, Arg a, uint64_t v);
uint64_t encode_ref(const std::vector<uint64_t>& pool, Arg a, uint64_t v);

// Binary records (binary.cc). Each starts with a kind byte, taken modulo
// records(version, guest): an op kind (cpu2 excepted) and its arguments, or
// a schedule point or a schedule choice for the most recent op. Version 2
// has the 22 op kinds before cpu2, then the point and choice records;
// version 3 keeps those numbers and appends the op kinds after cpu2: the
// others, then the guest ops, which are records only in a program that
// names a propagator (`guest`: elsewhere they could not run, and the
// engines would spend mutations on them).
inline constexpr uint8_t kV2Ops = uint8_t(OpKind::Cpu2);
inline constexpr uint8_t kSchedRecord = kV2Ops, kChoiceRecord = kV2Ops + 1;
std::span<const OpKind> v3_ops(bool guest);
uint8_t records(uint8_t version, bool guest);
uint8_t record_of(OpKind k);
OpKind op_of_record(uint8_t r);  // r < kV2Ops or r > kChoiceRecord
void write_point(std::vector<uint8_t>& out, const SchedPoint& p, const Refs& refs);
bool writer_char(char c);

}  // namespace vtd::prog::detail

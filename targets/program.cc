#include "targets/program.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "simulator/memory.h"

namespace vtd::prog {
namespace {

// ------------------------------------------------------------ op specs --

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
  std::initializer_list<ArgSpec> args;
};

constexpr uint64_t kPasidNone = kNoPasidArg;

const OpSpec kSpecs[] = {
    {OpKind::Domain,
     "domain",
     {{Arg::Dom, Style::Pos, "", 0, true},
      {Arg::DType, Style::Pos, "", 0, true},
      {Arg::Parent, Style::Key, "parent", 0, false},
      {Arg::Levels, Style::Key, "levels", 4, false}}},
    {OpKind::Free, "free", {{Arg::Dom, Style::Pos, "", 0, true}}},
    {OpKind::Map,
     "map",
     {{Arg::Dom, Style::Pos, "", 0, true},
      {Arg::Iova, Style::Key, "iova", 0, true},
      {Arg::Pa, Style::Key, "pa", 0, true},
      {Arg::Size, Style::Key, "size", 0, false},
      {Arg::Perm, Style::Pos, "", 3, true}}},
    {OpKind::Unmap,
     "unmap",
     {{Arg::Dom, Style::Pos, "", 0, true},
      {Arg::Iova, Style::Key, "iova", 0, true},
      {Arg::Size, Style::Key, "size", 0, false}}},
    {OpKind::Probe,
     "probe",
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Ats, Style::Flag, "ats", 0, false},
      {Arg::PasidCap, Style::Flag, "pasid", 0, false}}},
    {OpKind::Release, "release", {{Arg::Dev, Style::Key, "dev", 0, true}}},
    {OpKind::Vfs,
     "vfs",
     {{Arg::Dev, Style::Key, "dev", 0, true}, {Arg::N, Style::Key, "n", 1, false}}},
    {OpKind::SurpriseRemove, "surprise-remove", {{Arg::Dev, Style::Key, "dev", 0, true}}},
    {OpKind::Attach,
     "attach",
     {{Arg::Dev, Style::Key, "dev", 0, true}, {Arg::Dom, Style::Key, "domain", 0, true}}},
    {OpKind::Replace,
     "replace",
     {{Arg::Dev, Style::Key, "dev", 0, true}, {Arg::Dom, Style::Key, "domain", 0, true}}},
    {OpKind::Detach, "detach", {{Arg::Dev, Style::Key, "dev", 0, true}}},
    {OpKind::SetPasid,
     "set-pasid",
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false},
      {Arg::Dom, Style::Key, "domain", 0, true}}},
    {OpKind::RemovePasid,
     "remove-pasid",
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false}}},
    {OpKind::FailNth, "fail-nth", {{Arg::N, Style::Pos, "", 0, true}}},
    {OpKind::Inject, "inject", {{Arg::QErr, Style::Pos, "", 0, true}}},
    {OpKind::Dma,
     "dma",
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false},
      {Arg::Iova, Style::Key, "iova", 0, true},
      {Arg::Access, Style::Pos, "", 0, true}}},
    {OpKind::Memcpy,
     "memcpy",
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false},
      {Arg::Iova, Style::Key, "src", 0, true},
      {Arg::Dst, Style::Key, "dst", 0, true}}},
    {OpKind::Walk,
     "walk",
     {{Arg::Dev, Style::Key, "dev", 0, true},
      {Arg::Pasid, Style::Key, "pasid", kPasidNone, false},
      {Arg::Iova, Style::Key, "iova", 0, true},
      {Arg::Split, Style::Key, "split", 0, false}}},
    {OpKind::ResumeWalks, "resume-walks", {}},
    {OpKind::Evict,
     "evict",
     {{Arg::Cache, Style::Pos, "", 0, true}, {Arg::Index, Style::Key, "index", 0, false}}},
    {OpKind::Writeback, "writeback", {{Arg::Index, Style::Key, "index", 0, false}}},
    {OpKind::ProcessQueue, "process-queue", {{Arg::N, Style::Key, "n", 0, false}}},
    {OpKind::Cpu2, "cpu2", {}},
};
static_assert(sizeof(kSpecs) / sizeof(kSpecs[0]) == size_t(OpKind::kCount));

const OpSpec& spec(OpKind k) {
  return kSpecs[size_t(k)];
}

constexpr OpKind kSteps[] = {OpKind::Dma,          OpKind::Memcpy, OpKind::Walk,
                             OpKind::ResumeWalks,  OpKind::Evict,  OpKind::Writeback,
                             OpKind::ProcessQueue, OpKind::Cpu2};
constexpr OpKind kCpu2Ops[] = {OpKind::Map,        OpKind::Unmap,   OpKind::Attach,
                               OpKind::Detach,     OpKind::Replace, OpKind::SetPasid,
                               OpKind::RemovePasid};

// Enum spellings.
constexpr const char* kDTypes[] = {"second-stage", "first-stage", "nested",
                                   "identity",     "blocking",    "sva"};
constexpr const char* kSizes[] = {"4K", "2M", "1G"};
constexpr const char* kPerms[] = {"", "r", "w", "rw"};
constexpr const char* kAccess[] = {"read", "write"};
constexpr const char* kCaches[] = {"context", "pasid", "iotlb", "psc", "devtlb"};
constexpr const char* kQErrs[] = {"iqe", "ite", "ice"};
constexpr uint64_t kLevelsByCode[] = {4, 5, 3};
// Binary code -> domain type (DomainType order: second-stage, first-stage,
// nested, identity, blocking, sva). Zero is first-stage: the type whose
// entries change across two PASID-entry chunks, where most bugs live.
constexpr uint64_t kDTypeByCode[] = {1, 0, 3, 2, 5, 4};

// Device slots: small binary values name the devices programs use most.
constexpr uint16_t kSlots[] = {
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

// "page or raw": even values are page numbers, odd ones raw addresses.
uint64_t unpack_addr(uint64_t v) {
  return (v & 1) ? (v >> 1) : (v >> 1) << 12;
}
uint64_t pack_addr(uint64_t a) {
  return (a & 0xfff) ? (a << 1) | 1 : (a >> 12) << 1;
}
constexpr uint64_t kAddrMask = (1ull << 62) - 1;
constexpr uint64_t kPaMask = (1ull << 52) - 1;  // physical addresses: 52 bits

uint64_t data_base() {
  return sim::PhysMemory::Layout{}.data_base;
}

// References. In the binary form an argument naming an existing domain or
// device is, below kRefs, an index among those created earlier in the
// program (0: the most recent) — so random bytes mostly name something
// that exists, as syzkaller's resources do; kRefs and above is an absolute
// id. The text form always shows absolute ids.
constexpr uint64_t kRefs = 64;

struct Refs {
  std::vector<uint64_t> doms, devs;  // in creation order
  void created(const Op& op) {
    if (op.kind == OpKind::Domain) doms.push_back(op.get(Arg::Dom));
    if (op.kind == OpKind::Probe) devs.push_back(op.get(Arg::Dev));
    if (op.kind == OpKind::Vfs) {
      sim::Sid pf(uint16_t(op.get(Arg::Dev)));
      for (uint64_t i = 0; i < op.get(Arg::N) && i < 8 && pf.bus() < 0xff; ++i)
        devs.push_back(sim::Sid(uint8_t(pf.bus() + 1), 0, uint8_t(i)).v);
    }
  }
  const std::vector<uint64_t>* pool(OpKind k, Arg a) const {
    if ((a == Arg::Dom && k != OpKind::Domain) || a == Arg::Parent) return &doms;
    if (a == Arg::Dev && k != OpKind::Probe) return &devs;
    return nullptr;
  }
  // A creating argument (the id of a new domain, the device a probe adds):
  // 0 names a fresh one, so zero bytes make coherent programs.
  bool creates(OpKind k, Arg a) const {
    return (k == OpKind::Domain && a == Arg::Dom) || (k == OpKind::Probe && a == Arg::Dev);
  }
  uint64_t fresh(Arg a) const;
};

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

uint64_t Refs::fresh(Arg a) const {
  if (a == Arg::Dom) {
    for (uint64_t id = 1;; ++id)
      if (std::find(doms.begin(), doms.end(), id) == doms.end()) return id;
  }
  for (uint16_t slot : kSlots)
    if (std::find(devs.begin(), devs.end(), slot) == devs.end()) return slot;
  return kSlots[0];
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
      for (uint64_t i = 0; i < 16; ++i)
        if (kSlots[i] == v) return i;
      return v + 16;
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

// ------------------------------------------------------------ binary --

struct Reader {
  std::span<const uint8_t> b;
  size_t i = 0;
  uint8_t byte() { return i < b.size() ? b[i++] : 0; }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && i < b.size(); shift += 7) {
      uint8_t c = b[i++];
      v |= uint64_t(c & 0x7f) << shift;
      if (!(c & 0x80)) break;
    }
    return v;
  }
  bool done() const { return i >= b.size(); }
};

void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  do {
    uint8_t c = v & 0x7f;
    v >>= 7;
    out.push_back(uint8_t(c | (v ? 0x80 : 0)));
  } while (v);
}

void read_args(Reader& r, Op& op, const Refs& refs) {
  for (const ArgSpec& s : spec(op.kind).args) {
    uint64_t v = r.varint();
    const std::vector<uint64_t>* pool = refs.pool(op.kind, s.arg);
    if (refs.creates(op.kind, s.arg))
      op.set(s.arg, v == 0 ? refs.fresh(s.arg) : wrap(s.arg, v - 1));
    else
      op.set(s.arg, pool ? decode_ref(*pool, s.arg, v) : wrap(s.arg, v));
  }
  // Only a nested domain has a parent.
  if (op.kind == OpKind::Domain && op.get(Arg::DType) != 2) op.set(Arg::Parent, 0);
}

Op read_step(Reader& r, const Refs& refs) {
  Op op;
  op.kind = kSteps[r.byte() % (sizeof(kSteps) / sizeof(kSteps[0]))];
  if (op.kind == OpKind::Cpu2) {
    Op sub;
    sub.kind = cpu2_kind(r.byte());
    read_args(r, sub, refs);
    op.sub.push_back(sub);
  } else {
    read_args(r, op, refs);
  }
  return op;
}

// Records. Each starts with a kind byte, taken modulo kRecords: an op kind
// (cpu2 excepted) and its arguments, or a schedule point or a schedule
// choice for the most recent op. Points and choices are records of their
// own rather than counted lists so that an engine inserting or deleting one
// (a dictionary token, say) never has to fix up a count elsewhere.
constexpr uint8_t kOpRecords = uint8_t(OpKind::kCount) - 1;  // not cpu2
constexpr uint8_t kSchedRecord = kOpRecords, kChoiceRecord = kOpRecords + 1;
constexpr uint8_t kRecords = kOpRecords + 2;

// Reads one record into the program; points and choices with no op before
// them, or beyond an op's limits, are read and dropped.
void read_record(Reader& r, Program& p, Refs& refs) {
  const uint8_t kind = r.byte() % kRecords;
  if (kind < kOpRecords) {
    Op op;
    op.kind = OpKind(kind);
    read_args(r, op, refs);
    refs.created(op);
    p.ops.push_back(std::move(op));
    return;
  }
  if (kind == kChoiceRecord) {
    const uint32_t c = uint32_t(r.varint());
    if (!p.ops.empty() && p.ops.back().choices.size() < kMaxChoices)
      p.ops.back().choices.push_back(c);
    return;
  }
  const uint64_t v = r.varint();
  SchedPoint sp;
  sp.kind = (v & 1) ? sim::PointKind::Wait : sim::PointKind::Store;
  sp.index = uint32_t((v >> 1) % kMaxPointIndex + 1);
  sp.step.push_back(read_step(r, refs));
  if (!p.ops.empty() && p.ops.back().sched.size() < kMaxSched)
    p.ops.back().sched.push_back(std::move(sp));
}

void write_args(std::vector<uint8_t>& out, const Op& op, const Refs& refs) {
  for (const ArgSpec& s : spec(op.kind).args) {
    const std::vector<uint64_t>* pool = refs.pool(op.kind, s.arg);
    uint64_t v = op.get(s.arg);
    if (s.arg == Arg::Parent && v == 0) {
      put_varint(out, 0);  // no parent (the decoder clears it for non-nested domains)
      continue;
    }
    if (refs.creates(op.kind, s.arg)) {
      put_varint(out, v == refs.fresh(s.arg) ? 0 : unwrap(s.arg, v) + 1);
      continue;
    }
    put_varint(out, pool ? encode_ref(*pool, s.arg, v) : unwrap(s.arg, v));
  }
}

// A schedule-point record.
void write_point(std::vector<uint8_t>& out, const SchedPoint& p, const Refs& refs) {
  out.push_back(kSchedRecord);
  put_varint(out, uint64_t(p.index - 1) << 1 | (p.kind == sim::PointKind::Wait));
  const Op& st = p.step.front();
  for (uint8_t i = 0; i < sizeof(kSteps) / sizeof(kSteps[0]); ++i)
    if (kSteps[i] == st.kind) out.push_back(i);
  if (st.kind == OpKind::Cpu2) {
    const Op& sub = st.sub.front();
    for (uint8_t i = 0; i < sizeof(kCpu2Ops) / sizeof(kCpu2Ops[0]); ++i)
      if (kCpu2Ops[i] == sub.kind) out.push_back(i);
    write_args(out, sub, refs);
  } else {
    write_args(out, st, refs);
  }
}

// One op, then its points and choices, which see what the op created (as
// read_record does).
void write_op(std::vector<uint8_t>& out, const Op& op, Refs& refs) {
  out.push_back(uint8_t(op.kind));
  write_args(out, op, refs);
  refs.created(op);
  for (const SchedPoint& p : op.sched) write_point(out, p, refs);
  for (uint32_t c : op.choices) {
    out.push_back(kChoiceRecord);
    put_varint(out, c);
  }
}

bool writer_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

// ------------------------------------------------------------- text --

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string arg_text(const ArgSpec& s, uint64_t v) {
  switch (s.arg) {
    case Arg::DType:
      return kDTypes[v];
    case Arg::Dev:
      return sim::Sid(uint16_t(v)).str();
    case Arg::Pasid:
      return std::to_string(v - 1);
    case Arg::Iova:
    case Arg::Dst:
    case Arg::Pa:
      return hex(v);
    case Arg::Size:
      return kSizes[v];
    case Arg::Perm:
      return kPerms[v];
    case Arg::Access:
      return kAccess[v];
    case Arg::Cache:
      return kCaches[v];
    case Arg::QErr:
      return kQErrs[v];
    default:
      return std::to_string(v);
  }
}

void append_args(std::string& s, const Op& op) {
  for (const ArgSpec& a : spec(op.kind).args) {
    uint64_t v = op.get(a.arg);
    if (a.style == Style::Flag) {
      if (v) s += std::string(" ") + a.key;
    } else if (a.style == Style::Key) {
      if (!a.always && v == a.def) continue;
      s += std::string(" ") + a.key + "=" + arg_text(a, v);
    } else {
      s += " " + arg_text(a, v);
    }
  }
}

template <size_t N>
bool lookup(const char* const (&names)[N], std::string_view w, uint64_t* v) {
  for (size_t i = 0; i < N; ++i)
    if (w == names[i]) {
      *v = i;
      return true;
    }
  return false;
}

bool parse_num(std::string_view w, uint64_t* v) {
  if (w.empty()) return false;
  std::string s(w);
  char* end = nullptr;
  errno = 0;
  unsigned long long x = strtoull(s.c_str(), &end, 0);
  if (errno || *end) return false;
  *v = x;
  return true;
}

bool parse_bdf(std::string_view w, uint64_t* v) {
  unsigned bus, dev, fn;
  char tail;
  if (sscanf(std::string(w).c_str(), "%x:%x.%x%c", &bus, &dev, &fn, &tail) != 3) return false;
  if (bus > 0xff || dev > 0x1f || fn > 7) return false;
  *v = sim::Sid(uint8_t(bus), uint8_t(dev), uint8_t(fn)).v;
  return true;
}

// Parses one argument value; `err` gets what was expected.
bool parse_value(Arg a, std::string_view w, uint64_t* v, std::string* err) {
  switch (a) {
    case Arg::DType:
      if (lookup(kDTypes, w, v)) return true;
      *err = "a domain type (second-stage, first-stage, nested, identity, blocking, sva)";
      return false;
    case Arg::Dev:
      if (parse_bdf(w, v)) return true;
      *err = "a device as bus:dev.fn";
      return false;
    case Arg::Size:
      if (lookup(kSizes, w, v)) return true;
      *err = "4K, 2M or 1G";
      return false;
    case Arg::Perm:
      if (lookup(kPerms, w, v) && *v) return true;
      *err = "r, w or rw";
      return false;
    case Arg::Access:
      if (lookup(kAccess, w, v)) return true;
      *err = "read or write";
      return false;
    case Arg::Cache:
      if (lookup(kCaches, w, v)) return true;
      *err = "context, pasid, iotlb, psc or devtlb";
      return false;
    case Arg::QErr:
      if (lookup(kQErrs, w, v)) return true;
      *err = "iqe, ite or ice";
      return false;
    default:
      break;
  }
  uint64_t x;
  if (!parse_num(w, &x)) {
    *err = "a number";
    return false;
  }
  switch (a) {
    case Arg::Dom:
      if (x < 1 || x > 255) return *err = "a domain id 1..255", false;
      break;
    case Arg::Parent:
      if (x > 255) return *err = "a domain id 1..255", false;
      break;
    case Arg::Levels:
      if (x < 3 || x > 5) return *err = "3, 4 or 5 levels", false;
      break;
    case Arg::Pasid:
      if (x >= (1u << 20)) return *err = "a PASID below 2^20", false;
      x += 1;
      break;
    case Arg::Iova:
    case Arg::Dst:
      if (x > kAddrMask) return *err = "an address below 2^62", false;
      break;
    case Arg::Pa:
      if (x < data_base() || x > kPaMask)
        return *err =
                   "a physical address from " + hex(data_base()) + " (the data region) below 2^52",
               false;
      break;
    case Arg::N:
    case Arg::Index:
      if (x > 255) return *err = "a count 0..255", false;
      break;
    case Arg::Split:
      if (x > 8) return *err = "a split 0..8", false;
      break;
    default:
      break;
  }
  *v = x;
  return true;
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> w;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) w.push_back(s.substr(i, j - i));
    i = j;
  }
  return w;
}

// Parses "<name> args..." into op; `allowed` filters the kinds.
bool parse_op(const std::vector<std::string_view>& w, size_t first, Op* op, std::string* err,
              bool (*allowed)(OpKind)) {
  if (first >= w.size()) return *err = "missing op", false;
  bool found = false;
  for (const OpSpec& s : kSpecs)
    if (w[first] == s.name && s.kind != OpKind::Cpu2) {
      op->kind = s.kind;
      found = true;
    }
  if (w[first] == "cpu2") return *err = "cpu2 is only a schedule step", false;
  if (!found) return *err = "unknown op '" + std::string(w[first]) + "'", false;
  if (allowed && !allowed(op->kind))
    return *err = "'" + std::string(w[first]) + "' cannot be used here", false;
  const OpSpec& s = spec(op->kind);
  for (const ArgSpec& a : s.args) op->set(a.arg, a.style == Style::Pos ? 0 : a.def);
  if (op->kind == OpKind::Domain) op->set(Arg::Levels, 4);
  std::vector<bool> filled(s.args.size(), false);
  for (size_t i = first + 1; i < w.size(); ++i) {
    std::string_view t = w[i];
    size_t eq = t.find('=');
    size_t k = 0;
    bool matched = false;
    for (const ArgSpec& a : s.args) {
      bool hit = false;
      if (eq != std::string_view::npos)
        hit = a.style == Style::Key && t.substr(0, eq) == a.key;
      else if (a.style == Style::Flag)
        hit = t == a.key;
      if (hit) {
        if (a.style == Style::Flag) {
          op->set(a.arg, 1);
        } else {
          uint64_t v;
          std::string what;
          if (!parse_value(a.arg, t.substr(eq + 1), &v, &what))
            return *err = "'" + std::string(t) + "': expected " + what, false;
          op->set(a.arg, v);
        }
        filled[k] = true;
        matched = true;
        break;
      }
      ++k;
    }
    if (!matched && eq == std::string_view::npos) {
      k = 0;
      for (const ArgSpec& a : s.args) {
        if (a.style == Style::Pos && !filled[k]) {
          uint64_t v;
          std::string what;
          if (!parse_value(a.arg, t, &v, &what))
            return *err = "'" + std::string(t) + "': expected " + what, false;
          op->set(a.arg, v);
          filled[k] = matched = true;
          break;
        }
        ++k;
      }
    }
    if (!matched) return *err = "'" + std::string(t) + "' is not an argument of " + s.name, false;
  }
  size_t k = 0;
  for (const ArgSpec& a : s.args) {
    if (!filled[k] && (a.style == Style::Pos || a.always) && a.arg != Arg::Perm)
      return *err =
                 std::string(s.name) + ": missing " + (a.style == Style::Key ? a.key : "argument"),
             false;
    ++k;
  }
  return true;
}

bool is_step_or_cpu2(OpKind k) {
  return is_hw_step(k);
}

}  // namespace

// -------------------------------------------------------------- API --

bool SchedPoint::operator==(const SchedPoint& o) const {
  return kind == o.kind && index == o.index && step == o.step;
}
bool Op::operator==(const Op& o) const {
  return kind == o.kind && a == o.a && sched == o.sched && choices == o.choices && sub == o.sub;
}

const char* op_name(OpKind k) {
  return spec(k).name;
}

bool is_api(OpKind k) {
  return k <= OpKind::RemovePasid;
}

bool is_hw_step(OpKind k) {
  for (OpKind s : kSteps)
    if (s == k && k != OpKind::Cpu2) return true;
  return false;
}

bool is_cpu2_op(OpKind k) {
  for (OpKind s : kCpu2Ops)
    if (s == k) return true;
  return false;
}

OpKind cpu2_kind(uint8_t index) {
  return kCpu2Ops[index % (sizeof(kCpu2Ops) / sizeof(kCpu2Ops[0]))];
}

uint64_t size_of(const Op& op) {
  static const uint64_t kBytes[] = {4096, 2ull << 20, 1ull << 30};
  return kBytes[op.get(Arg::Size) % 3];
}

// The setup byte of the header: a populated machine in one byte, so that
// the engine starts from the DID-sharing and replace-ready states the seed
// threads argue about (two devices on one domain, a second domain to move
// to) instead of assembling them op by op. It decodes into ordinary ops at
// the start of the program, so the text form, reports and the minimizer
// see those ops; encode() writes them out and an empty setup.
//   bits 0-1  devices probed, fresh slots in order (00:02.0, 00:03.0, ...)
//   bits 2-3  domains allocated, each mapping one 4 KiB page at IOVA 0 to
//             its own data page
//   bits 4-5  domain types: all first-stage, all second-stage, or
//             alternating starting with either
//   bits 6-7  attach: none; every device on the first domain (one DID,
//             shared); device i on domain i; every device's PASID 1 on the
//             first domain (devices probed with the PASID capability)
// The byte is stored XOR kDefaultSetup (program.h): a zero byte, where the
// engines start, is the shared-DID machine 0x4a; an empty machine is
// written as kDefaultSetup.
void expand_setup(uint8_t setup, Program& p, Refs& refs) {
  const uint64_t ndev = setup & 3, ndom = setup >> 2 & 3, types = setup >> 4 & 3,
                 attach = setup >> 6;
  auto add = [&](Op op) {
    refs.created(op);
    p.ops.push_back(std::move(op));
  };
  std::vector<uint64_t> devs, doms;
  for (uint64_t i = 0; i < ndev; ++i) {
    Op op;
    op.kind = OpKind::Probe;
    op.set(Arg::Dev, refs.fresh(Arg::Dev)).set(Arg::PasidCap, attach == 3);
    devs.push_back(op.get(Arg::Dev));
    add(op);
  }
  constexpr uint64_t kFirst = 1, kSecond = 0;  // DomainType values
  for (uint64_t i = 0; i < ndom; ++i) {
    const bool first = types == 0 || (types == 2 && i % 2 == 0) || (types == 3 && i % 2 == 1);
    Op dom;
    dom.kind = OpKind::Domain;
    dom.set(Arg::Dom, refs.fresh(Arg::Dom))
        .set(Arg::DType, first ? kFirst : kSecond)
        .set(Arg::Levels, 4);
    doms.push_back(dom.get(Arg::Dom));
    add(dom);
    Op map;
    map.kind = OpKind::Map;
    map.set(Arg::Dom, doms.back())
        .set(Arg::Pa, wrap(Arg::Pa, pack_addr(i * sim::kPageSize)))
        .set(Arg::Perm, 3);
    add(map);
  }
  if (doms.empty()) return;
  for (size_t i = 0; i < devs.size() && attach; ++i) {
    Op op;
    op.kind = attach == 3 ? OpKind::SetPasid : OpKind::Attach;
    op.set(Arg::Dev, devs[i]).set(Arg::Dom, attach == 2 ? doms[i % doms.size()] : doms[0]);
    if (attach == 3) op.set(Arg::Pasid, 2);  // PASID 1
    add(op);
  }
}

namespace {
// decode(), noting where each record starts when `starts` is given.
Program decode_records(std::span<const uint8_t> bytes, Layout* layout) {
  Reader r{bytes};
  Program p;
  r.byte();  // version: every value reads as the current one
  uint8_t f = r.byte();
  p.config.scalable = !(f & 1);
  p.config.coherent = !(f & 2);
  p.config.quantum_bits = (f & 4) ? 64 : 128;
  p.config.cpu128 = !(f & 8);
  p.config.caching_mode = f & 16;
  p.config.five_level = !(f & 64);
  const uint8_t setup = r.byte() ^ kDefaultSetup;
  uint8_t len = r.byte() % 33;
  std::string name;
  bool ok = true;
  for (uint8_t i = 0; i < len; ++i) {
    char c = char(r.byte());
    ok &= writer_char(c);
    name += c;
  }
  if (ok) p.writer = name;
  Refs refs;
  expand_setup(setup, p, refs);
  if (layout) layout->header_end = 4 + size_t(len);  // past the size when cut short
  while (!r.done()) {
    if (layout) layout->records.push_back(r.i);
    read_record(r, p, refs);
  }
  return p;
}
}  // namespace

Program decode(std::span<const uint8_t> bytes) {
  return decode_records(bytes, nullptr);
}

Layout layout(std::span<const uint8_t> bytes) {
  Layout l;
  decode_records(bytes, &l);
  return l;
}

std::vector<uint8_t> encode(const Program& p) {
  std::vector<uint8_t> out;
  out.push_back(kVersion);
  const sim::Config& c = p.config;
  out.push_back(uint8_t(!c.scalable | !c.coherent << 1 | (c.quantum_bits == 64) << 2 |
                        !c.cpu128 << 3 | c.caching_mode << 4 | !c.five_level << 6));
  out.push_back(kDefaultSetup);  // an empty setup: the ops are written out below
  out.push_back(uint8_t(p.writer.size()));
  out.insert(out.end(), p.writer.begin(), p.writer.end());
  Refs refs;
  for (const Op& op : p.ops) write_op(out, op, refs);
  return out;
}

std::vector<Token> tokens() {
  std::vector<Token> out;
  // Names of letters, digits and '_' only: AFL++ drops a dictionary entry
  // whose name has anything else (op names have '-'; libFuzzer ignores names).
  auto add = [&](std::string name, std::vector<uint8_t> bytes, bool header = false) {
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    out.push_back({std::move(name), std::move(bytes), header});
  };
  // Each op with all-zero arguments: a reference 0 names the most recently
  // created domain or device, a creator 0 makes a fresh one, so inserted
  // tokens join up with what the program already has.
  for (const OpSpec& s : kSpecs) {
    if (s.kind == OpKind::Cpu2) continue;
    std::vector<uint8_t> zeros(1 + s.args.size(), 0);
    zeros[0] = uint8_t(s.kind);
    add(std::string("op_") + s.name, zeros);
  }
  // A schedule point right after the first store: a split walk, a DMA, or
  // the second CPU mapping or unmapping; references 0 name the most recent
  // device and domain.
  auto zero_args = [](OpKind k) {
    Op o;
    o.kind = k;
    for (const ArgSpec& a : spec(k).args) o.set(a.arg, wrap(a.arg, 0));
    return o;
  };
  Refs refs;
  refs.doms = {1};
  refs.devs = {wrap(Arg::Dev, 0)};
  auto point = [&](OpKind step, OpKind sub = OpKind::kCount, uint32_t store = 1) {
    Op st = zero_args(step);
    st.set(Arg::Split, step == OpKind::Walk ? 1 : 0);
    if (step == OpKind::Cpu2) st.sub.push_back(zero_args(sub));
    std::vector<uint8_t> b;
    write_point(b, {sim::PointKind::Store, store, {st}}, refs);
    return b;
  };
  for (OpKind step : {OpKind::Walk, OpKind::Dma, OpKind::ResumeWalks})
    add(std::string("sched_") + op_name(step), point(step));
  for (OpKind sub : {OpKind::Map, OpKind::Unmap})
    add(std::string("sched_cpu2-") + op_name(sub), point(OpKind::Cpu2, sub));
  // The IOTLB race idiom, as one token: at the same store the device DMAs
  // (the hardware caches a translation) and then the second CPU unmaps it,
  // whose flush must reach the entry just cached. One token per store up to
  // the fourth: a replace that is not hitless makes the entry live again
  // only at its third store (clear P, write, set P: the entry-sync fallback
  // of DESIGN.md section 5), and a byte mutation rarely lands on both
  // points' indices at once.
  for (uint32_t store = 1; store <= 4; ++store) {
    std::vector<uint8_t> race = point(OpKind::Dma, OpKind::kCount, store);
    for (uint8_t x : point(OpKind::Cpu2, OpKind::Unmap, store)) race.push_back(x);
    add("sched_dma_then_cpu2-unmap" + (store > 1 ? "_at" + std::to_string(store) : ""), race);
  }
  // A schedule choice (a store delay, a chunk order) for the op before it.
  add("choice_1", {kChoiceRecord, 1});
  for (int flags : {1, 2, 8, 16}) {
    add("header_" + std::to_string(flags), {kVersion, uint8_t(flags), 0, 0}, true);
  }
  // Setups (the byte is setup ^ kDefaultSetup): two devices sharing a
  // second-stage domain with a second one to move to (0x5a); two devices on
  // first-stage domains of their own (0x8a); two devices' PASID 1 sharing a
  // first-stage domain (0xca); one device on a second-stage domain with a
  // second to move to (0x99); an empty machine (0x00).
  for (int setup : {0x5a, 0x8a, 0xca, 0x99, 0x00}) {
    char name[16];
    snprintf(name, sizeof name, "setup_%02x", setup);
    add(name, {kVersion, 0, uint8_t(setup ^ kDefaultSetup), 0}, true);
  }
  return out;
}

std::string dictionary() {
  std::string out = "# Generated by `vtdfuzz-cli dict` from the op table in targets/program.cc.\n";
  for (const Token& t : tokens()) {
    out += t.name + "=\"";
    char buf[8];
    for (uint8_t x : t.bytes) {
      snprintf(buf, sizeof buf, "\\x%02x", x);
      out += buf;
    }
    out += "\"\n";
  }
  return out;
}

std::string config_text(const sim::Config& c) {
  std::string s = c.scalable ? "scalable" : "legacy";
  s += c.coherent ? " coherent" : " noncoherent";
  s += c.quantum_bits == 64 ? " quantum=64" : " quantum=128";
  s += c.cpu128 ? " cpu128" : " cpu64";
  if (c.caching_mode) s += " cm";
  if (!c.five_level) s += " 4level";
  return s;
}

std::string op_text(const Op& op) {
  if (op.kind == OpKind::Cpu2)
    return "cpu2 " + (op.sub.empty() ? std::string("?") : op_text(op.sub.front()));
  std::string s = op_name(op.kind);
  append_args(s, op);
  return s;
}

std::string to_text(const Program& p) {
  std::string s = "writer " + (p.writer.empty() ? std::string("-") : p.writer) + "\n";
  s += "config " + config_text(p.config) + "\n";
  for (const Op& op : p.ops) {
    s += op_text(op) + "\n";
    for (const SchedPoint& sp : op.sched)
      s += std::string("  @") + (sp.kind == sim::PointKind::Wait ? "wait " : "store ") +
           std::to_string(sp.index) + ": " + op_text(sp.step.front()) + "\n";
    if (!op.choices.empty()) {
      s += "  @choices";
      for (uint32_t c : op.choices) s += " " + std::to_string(c);
      s += "\n";
    }
  }
  return s;
}

bool parse(std::string_view text, Program* out, std::string* error) {
  Program p;
  int line_no = 0;
  bool have_writer = false, have_config = false;
  size_t pos = 0;
  auto fail = [&](const std::string& m) {
    *error = "line " + std::to_string(line_no) + ": " + m;
    return false;
  };
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<std::string_view> w = split_words(line);
    if (w.empty()) {
      if (nl == text.size()) break;
      continue;
    }
    bool indented = line[0] == ' ' || line[0] == '\t';
    if (w[0] == "writer") {
      if (w.size() != 2) return fail("writer takes one name");
      if (have_writer || !p.ops.empty()) return fail("writer must come first, once");
      std::string name(w[1] == "-" ? "" : w[1]);
      for (char c : name)
        if (!writer_char(c))
          return fail("writer name '" + name + "' has characters outside [a-z0-9-]");
      if (name.size() > 32) return fail("writer name longer than 32");
      p.writer = name;
      have_writer = true;
      continue;
    }
    if (w[0] == "config") {
      if (have_config || !p.ops.empty()) return fail("config must come before the ops, once");
      sim::Config c;
      for (size_t i = 1; i < w.size(); ++i) {
        std::string_view t = w[i];
        if (t == "scalable")
          c.scalable = true;
        else if (t == "legacy")
          c.scalable = false;
        else if (t == "coherent")
          c.coherent = true;
        else if (t == "noncoherent")
          c.coherent = false;
        else if (t == "quantum=128")
          c.quantum_bits = 128;
        else if (t == "quantum=64")
          c.quantum_bits = 64;
        else if (t == "cpu128")
          c.cpu128 = true;
        else if (t == "cpu64")
          c.cpu128 = false;
        else if (t == "cm")
          c.caching_mode = true;
        else if (t == "4level")
          c.five_level = false;
        else
          return fail("unknown config word '" + std::string(t) + "'");
      }
      p.config = c;
      have_config = true;
      continue;
    }
    if (w[0].size() > 1 && w[0][0] == '@') {
      if (!indented) return fail("schedule lines are indented under their op");
      if (p.ops.empty()) return fail("schedule line before any op");
      Op& op = p.ops.back();
      if (w[0] == "@choices") {
        for (size_t i = 1; i < w.size(); ++i) {
          uint64_t v;
          if (!parse_num(w[i], &v) || v > 0xffffffffu)
            return fail("'" + std::string(w[i]) + "': expected a choice");
          op.choices.push_back(uint32_t(v));
        }
        if (op.choices.size() > kMaxChoices)
          return fail("at most " + std::to_string(kMaxChoices) + " choices per op");
        continue;
      }
      SchedPoint sp;
      if (w[0] == "@store")
        sp.kind = sim::PointKind::Store;
      else if (w[0] == "@wait")
        sp.kind = sim::PointKind::Wait;
      else
        return fail("unknown schedule line '" + std::string(w[0]) + "'");
      if (w.size() < 3 || w[1].empty() || w[1].back() != ':')
        return fail("expected '@store N: <step>'");
      uint64_t idx;
      if (!parse_num(w[1].substr(0, w[1].size() - 1), &idx) || idx < 1 || idx > kMaxPointIndex)
        return fail("schedule point index must be 1.." + std::to_string(kMaxPointIndex));
      sp.index = uint32_t(idx);
      Op step;
      std::string err;
      if (w[2] == "cpu2") {
        Op sub;
        if (!parse_op(w, 3, &sub, &err, is_cpu2_op)) return fail(err);
        step.kind = OpKind::Cpu2;
        step.sub.push_back(sub);
      } else if (!parse_op(w, 2, &step, &err, is_step_or_cpu2)) {
        return fail(err);
      }
      sp.step.push_back(step);
      if (op.sched.size() >= kMaxSched)
        return fail("at most " + std::to_string(kMaxSched) + " schedule points per op");
      op.sched.push_back(sp);
      continue;
    }
    if (indented) return fail("unexpected indentation");
    Op op;
    std::string err;
    if (!parse_op(w, 0, &op, &err, nullptr)) return fail(err);
    if (op.kind == OpKind::Domain && op.get(Arg::DType) != 2 && op.get(Arg::Parent))
      return fail("parent= is only for nested domains");
    p.ops.push_back(op);
    if (nl == text.size()) break;
  }
  *out = p;
  return true;
}

bool load(std::span<const uint8_t> bytes, Program* out, std::string* error) {
  std::string_view s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  // Text programs start with a comment, `writer` or `config`.
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  std::string_view head = s.substr(i);
  bool text =
      head.substr(0, 7) == "writer " || head.substr(0, 7) == "config " || head.substr(0, 1) == "#";
  if (text) return parse(s, out, error);
  *out = decode(bytes);
  return true;
}

}  // namespace vtd::prog

// The binary form (DESIGN.md section 8): a versioned header, the setup
// byte, then records. Every byte string decodes.
#include <algorithm>

#include "prog/table.h"

namespace vtd::prog {
namespace detail {
namespace {

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

// `refs_ptr` null: only steps over the arguments (layout() needs where records
// end, not what they say).
void read_args(Reader& r, Op& op, const Refs* refs_ptr) {
  if (!refs_ptr) {
    for (size_t i = 0; i < spec(op.kind).args.size(); ++i) r.varint();
    return;
  }
  const Refs& refs = *refs_ptr;
  for (const ArgSpec& s : spec(op.kind).args) {
    uint64_t v = r.varint();
    const std::vector<uint64_t>* pool = refs.pool(op.kind, s.arg);
    if (refs.creates(op.kind, s.arg))
      op.set(s.arg, v == 0 ? refs.fresh(op.kind, s.arg) : wrap(s.arg, v - 1));
    else
      op.set(s.arg, pool ? decode_ref(*pool, s.arg, v) : wrap(s.arg, v));
  }
  // Only a nested domain has a parent.
  if ((op.kind == OpKind::Domain || op.kind == OpKind::GDomain) && op.get(Arg::DType) != 2)
    op.set(Arg::Parent, 0);
}

Op read_step(Reader& r, const Refs* refs, uint8_t version) {
  Op op;
  const std::span<const OpKind> st = steps(version);
  op.kind = st[r.byte() % st.size()];
  if (op.kind == OpKind::Cpu2) {
    Op sub;
    sub.kind = cpu2_kind(r.byte(), version);
    read_args(r, sub, refs);
    if (refs) op.sub.push_back(sub);
  } else {
    read_args(r, op, refs);
  }
  return op;
}

// Reads one record into the program; points and choices with no op before
// them, or beyond an op's limits, are read and dropped.
// The twolevel reading (decode_guest): an iommu-core call is the guest's.
OpKind guest_twin(OpKind k) {
  switch (k) {
    case OpKind::Probe:
      return OpKind::Assign;  // a device appears in the guest when the VMM assigns one
    case OpKind::Domain:
      return OpKind::GDomain;
    case OpKind::Free:
      return OpKind::GFree;
    case OpKind::Map:
      return OpKind::GMap;
    case OpKind::Unmap:
      return OpKind::GUnmap;
    case OpKind::Attach:
      return OpKind::GAttach;
    case OpKind::Replace:
      return OpKind::GReplace;
    case OpKind::Detach:
      return OpKind::GDetach;
    case OpKind::SetPasid:
      return OpKind::GPasidSet;
    case OpKind::RemovePasid:
      return OpKind::GPasidRemove;
    default:
      return k;
  }
}

// `refs` null: reads past the record and keeps nothing (layout()).
void read_record(Reader& r, Program& p, Refs* refs, uint8_t version, bool guest) {
  const bool skim = !refs;
  // The guest reading has the ops' records, each call read as its twin.
  const uint8_t kind = r.byte() % records(version, !guest && !p.viommu.empty());
  if (kind != kSchedRecord && kind != kChoiceRecord) {
    Op op;
    op.kind = op_of_record(kind);
    if (guest) op.kind = guest_twin(op.kind);
    read_args(r, op, refs);
    if (skim) return;
    refs->created(op);
    p.ops.push_back(std::move(op));
    return;
  }
  if (kind == kChoiceRecord) {
    const uint32_t c = uint32_t(r.varint());
    if (skim) return;
    if (!p.ops.empty() && p.ops.back().choices.size() < kMaxChoices)
      p.ops.back().choices.push_back(c);
    return;
  }
  const uint64_t v = r.varint();
  SchedPoint sp;
  sp.kind = (v & 1) ? sim::PointKind::Wait : sim::PointKind::Store;
  sp.index = uint32_t((v >> 1) % kMaxPointIndex + 1);
  Op step = read_step(r, refs, version);
  if (skim) return;
  sp.step.push_back(std::move(step));
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
      put_varint(out, v == refs.fresh(op.kind, s.arg) ? 0 : unwrap(s.arg, v) + 1);
      continue;
    }
    put_varint(out, pool ? encode_ref(*pool, s.arg, v) : unwrap(s.arg, v));
  }
}

}  // namespace

// A schedule-point record.
void write_point(std::vector<uint8_t>& out, const SchedPoint& p, const Refs& refs) {
  out.push_back(kSchedRecord);
  put_varint(out, uint64_t(p.index - 1) << 1 | (p.kind == sim::PointKind::Wait));
  const Op& st = p.step.front();
  const std::span<const OpKind> all = steps(kVersion);
  for (uint8_t i = 0; i < all.size(); ++i)
    if (all[i] == st.kind) out.push_back(i);
  if (st.kind == OpKind::Cpu2) {
    const Op& sub = st.sub.front();
    const std::span<const OpKind> ops = cpu2_ops(kVersion);
    for (uint8_t i = 0; i < ops.size(); ++i)
      if (ops[i] == sub.kind) out.push_back(i);
    write_args(out, sub, refs);
  } else {
    write_args(out, st, refs);
  }
}

namespace {

// One op, then its points and choices, which see what the op created (as
// read_record does).
void write_op(std::vector<uint8_t>& out, const Op& op, Refs& refs) {
  out.push_back(record_of(op.kind));
  write_args(out, op, refs);
  refs.created(op);
  for (const SchedPoint& p : op.sched) write_point(out, p, refs);
  for (uint32_t c : op.choices) {
    out.push_back(kChoiceRecord);
    put_varint(out, c);
  }
}

}  // namespace

bool writer_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

}  // namespace detail

using namespace detail;

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
//
// Version 3, flags bit 5 (kLiveUpdateSetup): the setup also prepares a live
// update (DESIGN.md section 12): the first domain is preserved and, when it
// is attached to the first device's RID, that device too. What the engine
// adds then starts in the old kernel with something preserved: a kexec,
// restore and probe (a dictionary token) reach the dark window and the
// restore at once, and on the default machine the second device shares the
// preserved domain's DID without being preserved.
//
// The guest reading (decode_guest) sets up a guest the same way: assigned
// devices (the same host and guest slots), the guest's domains (identity
// where the host's would be second-stage: the virtual unit translates
// first-stage only; all mapping IOVA 0 to the first data page) and its
// attachments.
namespace {
void expand_setup(uint8_t setup, bool live_update, Program& p, Refs& refs, bool guest) {
  const uint64_t ndev = setup & 3, ndom = setup >> 2 & 3, types = setup >> 4 & 3,
                 attach = setup >> 6;
  auto add = [&](Op op) {
    refs.created(op);
    p.ops.push_back(std::move(op));
  };
  std::vector<uint64_t> devs, doms;
  for (uint64_t i = 0; i < ndev; ++i) {
    Op op;
    if (guest) {
      op.kind = OpKind::Assign;
      op.set(Arg::Host, refs.fresh(OpKind::Assign, Arg::Host))
          .set(Arg::Dev, refs.fresh(OpKind::Assign, Arg::Dev));
    } else {
      op.kind = OpKind::Probe;
      op.set(Arg::Dev, refs.fresh(Arg::Dev)).set(Arg::PasidCap, attach == 3);
    }
    devs.push_back(op.get(Arg::Dev));
    add(op);
  }
  constexpr uint64_t kFirst = 1, kSecond = 0, kIdentity = 3;  // DomainType values
  for (uint64_t i = 0; i < ndom; ++i) {
    const bool first = types == 0 || (types == 2 && i % 2 == 0) || (types == 3 && i % 2 == 1);
    Op dom;
    dom.kind = guest ? OpKind::GDomain : OpKind::Domain;
    dom.set(Arg::Dom, refs.fresh(dom.kind, Arg::Dom))
        .set(Arg::DType, first   ? kFirst
                         : guest ? kIdentity
                                 : kSecond)
        .set(Arg::Levels, 4);
    doms.push_back(dom.get(Arg::Dom));
    add(dom);
    if (guest && !first) continue;  // an identity domain maps nothing
    Op map;
    map.kind = guest ? OpKind::GMap : OpKind::Map;
    // The guest's domains all map IOVA 0 to the first data page: a replace
    // between two of them keeps it mapped alike, which a writer's hitless
    // promise then covers (P3, one level up).
    map.set(Arg::Dom, doms.back())
        .set(Arg::Pa, wrap(Arg::Pa, pack_addr(guest ? 0 : i * sim::kPageSize)))
        .set(Arg::Perm, 3);
    add(map);
  }
  if (doms.empty()) return;
  for (size_t i = 0; i < devs.size() && attach; ++i) {
    Op op;
    op.kind = attach == 3 ? OpKind::SetPasid : OpKind::Attach;
    if (guest) op.kind = guest_twin(op.kind);
    op.set(Arg::Dev, devs[i]).set(Arg::Dom, attach == 2 ? doms[i % doms.size()] : doms[0]);
    if (attach == 3) op.set(Arg::Pasid, 2);  // PASID 1
    add(op);
  }
  if (!live_update || guest) return;  // the guest has no live update of its own
  Op keep;
  keep.kind = OpKind::PreserveDomain;
  keep.set(Arg::Dom, doms[0]);
  add(keep);
  if (devs.empty() || (attach != 1 && attach != 2)) return;
  Op dev;
  dev.kind = OpKind::Preserve;
  dev.set(Arg::Dev, devs[0]);
  add(dev);
}
}  // namespace

namespace {
// decode() into `p`; with `layout`, only where each record starts (no ops
// kept).
void decode_records(std::span<const uint8_t> bytes, Layout* layout, const std::string* guest,
                    Program& p) {
  Reader r{bytes};
  {
    // A fresh program but for the ops' storage, which decode(bytes, &p)
    // reuses.
    Program fresh;
    fresh.ops = std::move(p.ops);
    fresh.ops.clear();
    p = std::move(fresh);
  }
  // Version: 3 and above read as 3, the rest as 2 (corpora from before
  // live update and the vIOMMU).
  const uint8_t version = r.byte() >= 3 ? 3 : 2;
  uint8_t f = r.byte();
  p.config.scalable = !(f & 1);
  p.config.coherent = !(f & 2);
  p.config.quantum_bits = (f & 4) ? 64 : 128;
  p.config.cpu128 = !(f & 8);
  p.config.caching_mode = f & 16;
  p.config.five_level = !(f & 64);
  const uint8_t setup = r.byte() ^ kDefaultSetup;
  size_t end = 3;
  // A name: a length byte, then [a-z0-9-] (a name with anything else reads
  // as none).
  auto name = [&](std::string* out) {
    const uint8_t len = r.byte() % 33;
    std::string n;
    bool ok = true;
    for (uint8_t i = 0; i < len; ++i) {
      char c = char(r.byte());
      ok &= writer_char(c);
      n += c;
    }
    if (ok) *out = n;
    end += 1 + size_t(len);
  };
  name(&p.writer);
  if (version >= 3) {
    name(&p.lu);
    name(&p.viommu);
  }
  if (guest) p.viommu = *guest;  // the header's name does not count
  Refs refs;
  // layout() reads where records start and keeps no op (the record
  // mutator's half of the fuzz loop decoded every input twice, issue 16).
  if (layout) {
    layout->header_end = end;  // past the size when cut short
    layout->records.reserve(bytes.size() / 2);
  } else {
    // Grown once: by doubling, the domains and devices a program creates
    // were a seventh of the fuzz loop's allocations (heaptrack, issue 16).
    refs.doms.reserve(32);
    refs.devs.reserve(32);
    expand_setup(setup, version >= 3 && (f & kLiveUpdateSetup), p, refs, guest != nullptr);
    // A record is a few bytes: grown once, not by doubling (an Op is some
    // 330 bytes; the moves were 3% of the fuzz loop, issue 16).
    p.ops.reserve(p.ops.size() + std::min<size_t>(bytes.size() / 3, 256));
  }
  while (!r.done()) {
    if (layout) layout->records.push_back(r.i);
    // The guest reading has no live update (the guest's kernel is not
    // replaced): its records are version 2's whatever the header says.
    read_record(r, p, layout ? nullptr : &refs, guest ? 2 : version, guest != nullptr);
  }
}
}  // namespace

Program decode(std::span<const uint8_t> bytes) {
  Program p;
  decode_records(bytes, nullptr, nullptr, p);
  return p;
}

void decode(std::span<const uint8_t> bytes, Program* out) {
  decode_records(bytes, nullptr, nullptr, *out);
}

Program decode_guest(std::span<const uint8_t> bytes, const std::string& propagator) {
  Program p;
  decode_records(bytes, nullptr, &propagator, p);
  return p;
}

void decode_guest(std::span<const uint8_t> bytes, const std::string& propagator, Program* out) {
  decode_records(bytes, nullptr, &propagator, *out);
}

Layout layout(std::span<const uint8_t> bytes, bool guest) {
  Layout l;
  Program p;
  const std::string none;
  decode_records(bytes, &l, guest ? &none : nullptr, p);
  return l;
}

std::vector<uint8_t> encode(const Program& p) {
  std::vector<uint8_t> out;
  out.push_back(kVersion);
  const sim::Config& c = p.config;
  out.push_back(uint8_t(!c.scalable | !c.coherent << 1 | (c.quantum_bits == 64) << 2 |
                        !c.cpu128 << 3 | c.caching_mode << 4 | !c.five_level << 6));
  out.push_back(kDefaultSetup);  // an empty setup: the ops are written out below
  for (const std::string* n : {&p.writer, &p.lu, &p.viommu}) {
    out.push_back(uint8_t(n->size()));
    out.insert(out.end(), n->begin(), n->end());
  }
  Refs refs;
  for (const Op& op : p.ops) write_op(out, op, refs);
  return out;
}

}  // namespace vtd::prog

// The generated matrix of (old, new) entry pairs (transitions.h).
#include "transitions/transitions.h"

namespace vtd::transitions {

using sim::Entry;
using sim::EntryKind;
using sim::PhysAddr;

namespace {
// Table roots of the two table sets (page-aligned, distinct per field).
constexpr PhysAddr kSsRoot[2] = {0x01100000, 0x01200000};
constexpr PhysAddr kFsRoot[2] = {0x01300000, 0x01400000};
constexpr PhysAddr kDirRoot[2] = {0x01500000, 0x01600000};
constexpr uint16_t kDidA = 5, kDidB = 6;
}  // namespace

Entry entry_of(EntryKind k, const End& e) {
  if (e.type == End::None) return Entry(k);
  switch (k) {
    case EntryKind::PasidEntry: {
      sim::PasidEntryFields f;
      f.did = e.did;
      f.fpd = e.flags & kFlagFpd;
      f.pgsnp = e.flags & kFlagPgsnp;
      switch (e.type) {
        case End::Second:
          f.pgtt = sim::kPgttSecond;
          f.aw = e.aw ? e.aw : 2;
          f.ssptptr = kSsRoot[e.roots & 1];
          break;
        case End::First:
          f.pgtt = sim::kPgttFirst;
          f.aw = 0;
          f.fsptptr = kFsRoot[e.roots & 1];
          break;
        case End::Nested:
          f.pgtt = sim::kPgttNested;
          f.aw = e.aw ? e.aw : 2;
          f.ssptptr = kSsRoot[e.roots & 1];
          f.fsptptr = kFsRoot[e.roots & 1];
          break;
        default:
          f.pgtt = sim::kPgttPassThrough;
          f.aw = e.aw ? e.aw : 3;
          break;
      }
      if (f.pgtt == sim::kPgttFirst || f.pgtt == sim::kPgttNested) {
        f.wpe = e.flags & kFlagWpe;
        f.sre = e.flags & kFlagSre;
      }
      return sim::encode(f);
    }
    case EntryKind::LegacyContext: {
      sim::LegacyContextFields f;
      f.did = e.did;
      f.fpd = e.flags & kFlagFpd;
      if (e.type == End::CtxPassThrough) {
        f.tt = sim::kTtPassThrough;
        f.aw = e.aw ? e.aw : 3;
      } else {
        f.tt = e.type == End::DevTlb ? sim::kTtDevTlb : sim::kTtTranslate;
        f.aw = e.aw ? e.aw : 2;
        f.ssptptr = kSsRoot[e.roots & 1];
      }
      return sim::encode(f);
    }
    default: {
      sim::ScalableContextFields f;
      f.fpd = e.flags & kFlagFpd;
      f.dte = e.flags & kFlagDte;
      f.paside = !(e.flags & kFlagNoPaside);
      f.pre = e.flags & kFlagPre;
      f.pasiddirptr = kDirRoot[e.roots & 1];
      f.rid_pasid = (e.flags & kFlagRidPasid) ? 1 : 0;
      return sim::encode(f);
    }
  }
}

std::string label_of(EntryKind k, const End& e) {
  static const char* const kTypes[] = {"np", "ss", "fs", "nest", "pt", "tr", "dt", "pt", "p"};
  std::string s = kTypes[e.type];
  if (e.type == End::None) return s;
  const bool has_did = k != EntryKind::ScalableContext;
  const bool has_roots = e.type != End::PassThrough && e.type != End::CtxPassThrough;
  if (has_did) s += ":" + std::to_string(e.did);
  if (has_roots) s += e.roots ? ":B" : ":A";
  if (e.aw) s += "/aw" + std::to_string(e.aw);
  static const struct {
    uint32_t bit;
    const char* name;
  } kFlags[] = {{kFlagFpd, "fpd"}, {kFlagPgsnp, "pgsnp"},  {kFlagWpe, "wpe"},
                {kFlagSre, "sre"}, {kFlagDte, "dte"},      {kFlagNoPaside, "nopaside"},
                {kFlagPre, "pre"}, {kFlagRidPasid, "rid1"}};
  for (const auto& f : kFlags)
    if (e.flags & f.bit) s += std::string("+") + f.name;
  return s;
}

std::string Row::kind_name() const {
  switch (kind) {
    case EntryKind::LegacyContext:
      return "context";
    case EntryKind::ScalableContext:
      return "sm-context";
    default:
      return "pasid";
  }
}

std::string Row::name() const {
  return kind_name() + " " + label_of(kind, from) + " -> " + label_of(kind, to) + " " +
         spec.variant();
}

namespace {

struct Pair {
  EntryKind kind;
  End from, to;
};

void add_pair(std::vector<Pair>& out, EntryKind k, const End& a, const End& b) {
  const Entry ea = entry_of(k, a), eb = entry_of(k, b);
  if (ea == eb) return;
  for (const Pair& p : out)
    if (p.kind == k && entry_of(k, p.from) == ea && entry_of(k, p.to) == eb) return;
  out.push_back({k, a, b});
}

End end(End::Type t, uint16_t did, int roots = 0, uint32_t flags = 0, uint8_t aw = 0) {
  return End{.type = t, .did = did, .roots = roots, .flags = flags, .aw = aw};
}

// Every pair of translation types, with the same or a different DID and
// the same or different table roots; and not present to and from each.
void type_pairs(std::vector<Pair>& out, EntryKind k, std::initializer_list<End::Type> types) {
  for (End::Type a : types)
    for (End::Type b : types)
      for (int dd = 0; dd < 2; ++dd)
        for (int rr = 0; rr < 2; ++rr)
          add_pair(out, k, end(a, kDidA), end(b, dd ? kDidB : kDidA, rr));
  for (End::Type a : types) {
    add_pair(out, k, end(End::None, 0), end(a, kDidA));
    add_pair(out, k, end(a, kDidA), end(End::None, 0));
  }
}

void pasid_pairs(std::vector<Pair>& out) {
  const EntryKind k = EntryKind::PasidEntry;
  const auto types = {End::Second, End::First, End::Nested, End::PassThrough};
  type_pairs(out, k, types);  // every PGTT pair
  // Flag changes (chunk 0: FPD, PGSNP; chunk 1: WPE, SRE), on and off, and
  // flags changing together with a table in the other chunk.
  for (End::Type a : types) {
    std::vector<uint32_t> flags = {kFlagFpd, kFlagPgsnp};
    if (a == End::First || a == End::Nested) flags.insert(flags.end(), {kFlagWpe, kFlagSre});
    for (uint32_t f : flags) {
      add_pair(out, k, end(a, kDidA), end(a, kDidA, 0, f));
      add_pair(out, k, end(a, kDidA, 0, f), end(a, kDidA));
    }
  }
  add_pair(out, k, end(End::First, kDidA), end(End::First, kDidA, 1, kFlagPgsnp));
  add_pair(out, k, end(End::First, kDidA), end(End::First, kDidB, 1, kFlagWpe));
  add_pair(out, k, end(End::Nested, kDidA), end(End::Nested, kDidA, 1, kFlagFpd | kFlagSre));
  add_pair(out, k, end(End::Second, kDidA), end(End::Second, kDidA, 0, kFlagPgsnp, 3));
}

void context_pairs(std::vector<Pair>& out) {
  const EntryKind k = EntryKind::LegacyContext;
  const auto types = {End::Translate, End::DevTlb, End::CtxPassThrough};
  type_pairs(out, k, types);
  // Address width (4- to 5-level), alone and with the root; FPD.
  add_pair(out, k, end(End::Translate, kDidA), end(End::Translate, kDidA, 0, 0, 3));
  add_pair(out, k, end(End::Translate, kDidA), end(End::Translate, kDidB, 1, 0, 3));
  add_pair(out, k, end(End::CtxPassThrough, kDidA), end(End::CtxPassThrough, kDidA, 0, 0, 2));
  for (End::Type a : types) {
    add_pair(out, k, end(a, kDidA), end(a, kDidA, 0, kFlagFpd));
    add_pair(out, k, end(a, kDidA, 0, kFlagFpd), end(a, kDidA));
  }
}

void sm_context_pairs(std::vector<Pair>& out) {
  const EntryKind k = EntryKind::ScalableContext;
  const End p = end(End::Present, 0);
  add_pair(out, k, end(End::None, 0), p);
  add_pair(out, k, p, end(End::None, 0));
  add_pair(out, k, end(End::None, 0), end(End::Present, 0, 0, kFlagDte));
  add_pair(out, k, p, end(End::Present, 0, 1));  // PASID directory pointer
  for (uint32_t f : {kFlagDte, kFlagNoPaside, kFlagPre, kFlagFpd, kFlagRidPasid}) {
    add_pair(out, k, p, end(End::Present, 0, 0, f));
    add_pair(out, k, end(End::Present, 0, 0, f), p);
  }
  add_pair(out, k, p, end(End::Present, 0, 1, kFlagRidPasid));  // both 64-bit halves
  add_pair(out, k, p, end(End::Present, 0, 1, kFlagDte));
}

}  // namespace

std::vector<Row> matrix(const MatrixOptions& o) {
  std::vector<Pair> pairs;
  if (o.kinds != KindSet::Pasid) {
    context_pairs(pairs);
    sm_context_pairs(pairs);
  }
  if (o.kinds != KindSet::Context) pasid_pairs(pairs);
  std::vector<Row> rows;
  for (bool cm : {false, true}) {
    if (cm && !o.cm) continue;
    for (bool coherent : {true, false}) {
      if (!coherent && !o.noncoherent) continue;
      for (bool cpu128 : {true, false})
        for (const Pair& p : pairs) {
          Row r;
          r.kind = p.kind;
          r.from = p.from;
          r.to = p.to;
          r.spec.old = entry_of(p.kind, p.from);
          r.spec.target = entry_of(p.kind, p.to);
          r.spec.cpu128 = cpu128;
          r.spec.quantum_bits = o.quantum_bits ? o.quantum_bits : (cpu128 ? 128 : 64);
          r.spec.coherent = coherent;
          r.spec.cm = cm;
          rows.push_back(r);
        }
    }
  }
  return rows;
}

namespace {
End end_from_bytes(EntryKind k, uint8_t t, uint8_t d, uint8_t f) {
  static constexpr uint16_t kDids[] = {kDidA, kDidB, 1, 7};
  End e;
  switch (k) {
    case EntryKind::PasidEntry: {
      static constexpr End::Type kTypes[] = {End::None, End::Second, End::First, End::Nested,
                                             End::PassThrough};
      e.type = kTypes[t % 5];
      e.flags = f & (kFlagFpd | kFlagPgsnp);
      if (e.type == End::First || e.type == End::Nested) e.flags |= f & (kFlagWpe | kFlagSre);
      if (e.type != End::First) e.aw = uint8_t(d >> 3 & 3);  // 0: default, else 1..3
      break;
    }
    case EntryKind::LegacyContext: {
      static constexpr End::Type kTypes[] = {End::None, End::Translate, End::DevTlb,
                                             End::CtxPassThrough};
      e.type = kTypes[t % 4];
      e.flags = f & kFlagFpd;
      e.aw = uint8_t(d >> 3 & 3);
      break;
    }
    default:
      e.type = (t & 1) ? End::Present : End::None;
      e.flags = f & (kFlagFpd | kFlagDte | kFlagNoPaside | kFlagPre | kFlagRidPasid);
      break;
  }
  if (e.type == End::None) return End();
  if (k != EntryKind::ScalableContext) e.did = kDids[d & 3];
  e.roots = d >> 2 & 1;
  return e;
}
}  // namespace

Row row_from_bytes(const uint8_t* data, size_t size) {
  auto byte = [&](size_t i) -> uint8_t { return i < size ? data[i] : 0; };
  static constexpr EntryKind kKinds[] = {EntryKind::PasidEntry, EntryKind::LegacyContext,
                                         EntryKind::ScalableContext};
  Row r;
  r.kind = kKinds[byte(0) % 3];
  const uint8_t p = byte(1);
  r.spec.quantum_bits = (p & 1) ? 64 : 128;
  r.spec.cpu128 = !(p & 2);
  r.spec.coherent = !(p & 4);
  r.spec.cm = p & 8;
  r.from = end_from_bytes(r.kind, byte(2), byte(3), byte(4));
  r.to = end_from_bytes(r.kind, byte(5), byte(6), byte(7));
  r.spec.old = entry_of(r.kind, r.from);
  r.spec.target = entry_of(r.kind, r.to);
  return r;
}

}  // namespace vtd::transitions

#include "simulator/formats.h"

#include <array>
#include <cstdio>
#include <initializer_list>

namespace vtd::sim {
namespace {

constexpr uint64_t bits(unsigned lo, unsigned hi) {  // inclusive, within one word
  return (hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1);
}

// Field positions: VTD-REFERENCE.md. Bit n of the entry is bit n%64 of word n/64.
constexpr FieldDef kLegacyRoot[] = {
    {Field::P, 0, 1, false},
    {Field::CTP, 12, 52, true},
};
constexpr FieldDef kScalableRoot[] = {
    {Field::LP, 0, 1, false},
    {Field::LCTP, 12, 52, true},
    {Field::UP, 64, 1, false},
    {Field::UCTP, 76, 52, true},
};
constexpr FieldDef kLegacyContext[] = {
    {Field::P, 0, 1, false},        {Field::FPD, 1, 1, false}, {Field::TT, 2, 2, false},
    {Field::SSPTPTR, 12, 52, true}, {Field::AW, 64, 3, false}, {Field::DID, 72, 16, false},
};
constexpr FieldDef kScalableContext[] = {
    {Field::P, 0, 1, false},
    {Field::FPD, 1, 1, false},
    {Field::DTE, 2, 1, false},
    {Field::PASIDE, 3, 1, false},
    {Field::PRE, 4, 1, false},
    {Field::PDTS, 9, 3, false},
    {Field::PASIDDIRPTR, 12, 52, true},
    {Field::RID_PASID, 64, 20, false},
    {Field::RID_PRIV, 84, 1, false},
};
constexpr FieldDef kPasidDir[] = {
    {Field::P, 0, 1, false},
    {Field::FPD, 1, 1, false},
    {Field::SMPTBLPTR, 12, 52, true},
};
constexpr FieldDef kPasidEntry[] = {
    {Field::P, 0, 1, false},      {Field::FPD, 1, 1, false},       {Field::AW, 2, 3, false},
    {Field::PGTT, 6, 3, false},   {Field::SSADE, 9, 1, false},     {Field::SSPTPTR, 12, 52, true},
    {Field::DID, 64, 16, false},  {Field::PWSNP, 87, 1, false},    {Field::PGSNP, 88, 1, false},
    {Field::SRE, 128, 1, false},  {Field::FSPM, 130, 2, false},    {Field::WPE, 132, 1, false},
    {Field::EAFE, 135, 1, false}, {Field::FSPTPTR, 140, 52, true},
};
constexpr FieldDef kSsPte[] = {
    {Field::R, 0, 1, false},  {Field::W, 1, 1, false},     {Field::X, 2, 1, false},
    {Field::PS, 7, 1, false}, {Field::ADDR, 12, 40, true},
};
constexpr FieldDef kFsPte[] = {
    {Field::P, 0, 1, false},   {Field::RW, 1, 1, false},  {Field::US, 2, 1, false},
    {Field::PWT, 3, 1, false}, {Field::PCD, 4, 1, false}, {Field::A, 5, 1, false},
    {Field::D, 6, 1, false},   {Field::PS, 7, 1, false},  {Field::ADDR, 12, 40, true},
    {Field::XD, 63, 1, false},
};

const Format kFormats[] = {
    {EntryKind::LegacyRoot, "root", 2, 2, kLegacyRoot, {bits(1, 11), ~0ull}},
    {EntryKind::ScalableRoot, "sm-root", 2, 2, kScalableRoot, {bits(1, 11), bits(1, 11)}},
    {EntryKind::LegacyContext,
     "context",
     2,
     2,
     kLegacyContext,
     {bits(4, 11), bits(3, 7) | bits(24, 63)}},
    {EntryKind::ScalableContext,
     "sm-context",
     4,
     2,
     kScalableContext,
     {bits(5, 8), bits(21, 63), ~0ull, ~0ull}},
    {EntryKind::PasidDir, "pasid-dir", 1, 1, kPasidDir, {bits(2, 11)}},
    {EntryKind::PasidEntry,
     "pasid",
     8,
     8,
     kPasidEntry,
     {bits(5, 5) | bits(10, 11), bits(16, 22) | bits(25, 63), bits(1, 1) | bits(5, 6) | bits(8, 11),
      ~0ull, ~0ull, ~0ull, ~0ull, ~0ull}},
    {EntryKind::SsPte, "ss-pte", 1, 1, kSsPte, {0}},
    {EntryKind::FsPte, "fs-pte", 1, 1, kFsPte, {0}},
};
static_assert(sizeof(kFormats) / sizeof(kFormats[0]) == size_t(EntryKind::kCount));

// Every get() and set() of every entry the walker, the writers and the
// oracle touch lands here: an index built once from the tables above, not
// a scan of the format's fields (4% of the fuzz build's profile, issue 16).
const FieldDef* find(const Format& f, Field field) {
  using Row = std::array<const FieldDef*, size_t(Field::kCount)>;
  static const std::array<Row, size_t(EntryKind::kCount)> kIndex = [] {
    std::array<Row, size_t(EntryKind::kCount)> t{};
    for (const Format& fmt : kFormats)
      for (const FieldDef& d : fmt.fields) t[size_t(fmt.kind)][size_t(d.field)] = &d;
    return t;
  }();
  return kIndex[size_t(f.kind)][size_t(field)];
}

uint64_t field_mask(const FieldDef& d) {
  return bits(d.lsb % 64, d.lsb % 64 + d.width - 1);
}

// Used-bits table (VTD-REFERENCE.md "Bits hardware reads"), as field lists
// per mode.
using Fields = std::initializer_list<Field>;
constexpr Fields kPasidSecond = {Field::P,    Field::FPD,   Field::AW,
                                 Field::PGTT, Field::SSADE, Field::SSPTPTR,
                                 Field::DID,  Field::PWSNP, Field::PGSNP};
constexpr Fields kPasidFirst = {Field::P,     Field::FPD,   Field::PGTT,   Field::DID,
                                Field::PWSNP, Field::PGSNP, Field::SRE,    Field::FSPM,
                                Field::WPE,   Field::EAFE,  Field::FSPTPTR};
constexpr Fields kPasidPassThrough = {Field::P,    Field::FPD, Field::AW,
                                      Field::PGTT, Field::DID, Field::PGSNP};
constexpr Fields kPasidBad = {Field::P, Field::FPD, Field::PGTT};

void add(Entry& m, Fields fs) {
  const Format& f = format_of(m.kind);
  for (Field x : fs)
    if (const FieldDef* d = find(f, x)) m.w[d->lsb / 64] |= field_mask(*d);
}

void add_all(Entry& m) {
  for (const FieldDef& d : format_of(m.kind).fields) m.w[d.lsb / 64] |= field_mask(d);
}

}  // namespace

const Format& format_of(EntryKind k) {
  return kFormats[size_t(k)];
}

const char* entry_kind_name(EntryKind k) {
  return format_of(k).name;
}

const char* field_name(Field f) {
  static const char* const kNames[] = {
      "P",         "CTP",      "LP",        "LCTP",    "UP",     "UCTP",  "FPD",   "TT",
      "SSPTPTR",   "AW",       "DID",       "DTE",     "PASIDE", "PRE",   "PDTS",  "PASIDDIRPTR",
      "RID_PASID", "RID_PRIV", "SMPTBLPTR", "PGTT",    "SSADE",  "PWSNP", "PGSNP", "SRE",
      "FSPM",      "WPE",      "EAFE",      "FSPTPTR", "R",      "W",     "X",     "PS",
      "ADDR",      "RW",       "US",        "PWT",     "PCD",    "A",     "D",     "XD"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == size_t(Field::kCount));
  return kNames[size_t(f)];
}

bool Entry::has(Field f) const {
  return find(format_of(kind), f) != nullptr;
}

uint64_t Entry::get(Field f) const {
  const FieldDef* d = find(format_of(kind), f);
  if (!d) return 0;
  uint64_t v = w[d->lsb / 64] & field_mask(*d);
  return d->addr ? v : v >> (d->lsb % 64);
}

Entry& Entry::set(Field f, uint64_t value) {
  const FieldDef* d = find(format_of(kind), f);
  if (!d) return *this;
  uint64_t m = field_mask(*d);
  uint64_t v = d->addr ? value : value << (d->lsb % 64);
  w[d->lsb / 64] = (w[d->lsb / 64] & ~m) | (v & m);
  return *this;
}

bool Entry::present() const {
  if (kind == EntryKind::ScalableRoot) return get(Field::LP) || get(Field::UP);
  if (kind == EntryKind::SsPte) return get(Field::R) || get(Field::W);
  return get(Field::P) != 0;
}

Entry Entry::operator&(const Entry& mask) const {
  Entry r(kind);
  for (size_t i = 0; i < kMaxWords; ++i) r.w[i] = w[i] & mask.w[i];
  return r;
}

std::string Entry::str() const {
  const Format& f = format_of(kind);
  std::string s;
  auto add = [&s](const std::string& item) {
    if (!s.empty()) s += ' ';
    s += item;
  };
  for (const FieldDef& d : f.fields) {
    uint64_t v = get(d.field);
    if (!v) continue;
    add(std::string(field_name(d.field)) + "=" +
        (d.addr || v > 9 ? sim::hex(v) : std::to_string(v)));
  }
  for (size_t i = 0; i < f.words; ++i)
    if (uint64_t r = w[i] & f.reserved[i]) add("rsvd" + std::to_string(i) + "=" + sim::hex(r));
  return s.empty() ? "0" : s;
}

std::string Entry::hex() const {
  std::string s;
  char buf[24];
  for (size_t i = 0; i < words(); ++i) {
    snprintf(buf, sizeof buf, "%s%016llx", i ? " " : "", (unsigned long long)w[i]);
    s += buf;
  }
  return s;
}

Entry used_bits(const Entry& e) {
  Entry m(e.kind);
  switch (e.kind) {
    case EntryKind::LegacyRoot:
      add(m, {Field::P});
      if (e.present()) add(m, {Field::CTP});
      break;
    case EntryKind::ScalableRoot:
      add(m, {Field::LP, Field::UP});
      if (e.get(Field::LP)) add(m, {Field::LCTP});
      if (e.get(Field::UP)) add(m, {Field::UCTP});
      break;
    case EntryKind::LegacyContext:
      add(m, {Field::P});
      if (!e.present()) break;
      switch (e.get(Field::TT)) {
        case kTtPassThrough:
          add(m, {Field::FPD, Field::TT, Field::AW, Field::DID});
          break;
        case kTtTranslate:
        case kTtDevTlb:
          add_all(m);
          break;
        default:
          add(m, {Field::FPD, Field::TT});
          break;
      }
      break;
    case EntryKind::ScalableContext:
    case EntryKind::PasidDir:
    case EntryKind::FsPte:
      add(m, {Field::P});
      if (e.present()) add_all(m);
      break;
    case EntryKind::SsPte:
      add(m, {Field::R, Field::W});
      if (e.present()) add_all(m);
      break;
    case EntryKind::PasidEntry:
      add(m, {Field::P});
      if (!e.present()) break;
      switch (e.get(Field::PGTT)) {
        case kPgttSecond:
          add(m, kPasidSecond);
          break;
        case kPgttFirst:
          add(m, kPasidFirst);
          break;
        case kPgttNested:
          add(m, kPasidSecond), add(m, kPasidFirst);
          break;
        case kPgttPassThrough:
          add(m, kPasidPassThrough);
          break;
        default:
          add(m, kPasidBad);
          break;
      }
      break;
    case EntryKind::kCount:
      break;
  }
  return m;
}

FaultReason decode(const Entry& e) {
  const Format& f = format_of(e.kind);
  bool reserved = false;
  for (size_t i = 0; i < f.words; ++i) reserved |= (e.w[i] & f.reserved[i]) != 0;
  PagingMode m;
  switch (e.kind) {
    case EntryKind::LegacyRoot:
      if (!e.present()) return FaultReason::RootNotPresent;
      return reserved ? FaultReason::RootReserved : FaultReason::None;
    case EntryKind::ScalableRoot:
      // Present when either half is (the walker checks the half it needs).
      if (!e.present()) return FaultReason::RootNotPresent;
      return reserved ? FaultReason::RootReserved : FaultReason::None;
    case EntryKind::LegacyContext: {
      if (!e.present()) return FaultReason::ContextNotPresent;
      if (reserved) return FaultReason::ContextReserved;
      uint64_t tt = e.get(Field::TT);
      if (tt > kTtPassThrough) return FaultReason::ContextInvalid;
      if (!ss_mode_for_aw(uint8_t(e.get(Field::AW)), &m)) return FaultReason::ContextInvalid;
      return FaultReason::None;
    }
    case EntryKind::ScalableContext:
      if (!e.present()) return FaultReason::ContextNotPresent;
      return reserved ? FaultReason::ContextReserved : FaultReason::None;
    case EntryKind::PasidDir:
      if (!e.present()) return FaultReason::PasidDirNotPresent;
      return reserved ? FaultReason::PasidDirReserved : FaultReason::None;
    case EntryKind::PasidEntry: {
      if (!e.present()) return FaultReason::PasidEntryNotPresent;
      if (reserved) return FaultReason::PasidEntryReserved;
      uint64_t pgtt = e.get(Field::PGTT);
      if (pgtt < kPgttFirst || pgtt > kPgttPassThrough) return FaultReason::PasidEntryInvalid;
      if ((pgtt == kPgttSecond || pgtt == kPgttNested || pgtt == kPgttPassThrough) &&
          !ss_mode_for_aw(uint8_t(e.get(Field::AW)), &m))
        return FaultReason::PasidEntryInvalid;
      if ((pgtt == kPgttFirst || pgtt == kPgttNested) &&
          !fs_mode_for_fspm(uint8_t(e.get(Field::FSPM)), &m))
        return FaultReason::PasidEntryInvalid;
      return FaultReason::None;
    }
    case EntryKind::SsPte:
    case EntryKind::FsPte:
      return e.present() ? FaultReason::None : FaultReason::PteNotPresent;
    case EntryKind::kCount:
      break;
  }
  return FaultReason::PasidEntryInvalid;
}

Entry encode(const LegacyContextFields& f) {
  Entry e(EntryKind::LegacyContext);
  e.set(Field::P, f.p).set(Field::FPD, f.fpd).set(Field::TT, f.tt);
  e.set(Field::SSPTPTR, f.ssptptr).set(Field::AW, f.aw).set(Field::DID, f.did);
  return e;
}

Entry encode(const PasidEntryFields& f) {
  Entry e(EntryKind::PasidEntry);
  e.set(Field::P, f.p).set(Field::FPD, f.fpd).set(Field::AW, f.aw).set(Field::PGTT, f.pgtt);
  e.set(Field::SSADE, f.ssade).set(Field::SSPTPTR, f.ssptptr).set(Field::DID, f.did);
  e.set(Field::PWSNP, f.pwsnp).set(Field::PGSNP, f.pgsnp).set(Field::SRE, f.sre);
  e.set(Field::FSPM, f.fspm).set(Field::WPE, f.wpe).set(Field::EAFE, f.eafe);
  e.set(Field::FSPTPTR, f.fsptptr);
  return e;
}

Entry encode(const ScalableContextFields& f) {
  Entry e(EntryKind::ScalableContext);
  e.set(Field::P, f.p).set(Field::FPD, f.fpd).set(Field::DTE, f.dte).set(Field::PASIDE, f.paside);
  e.set(Field::PRE, f.pre).set(Field::PDTS, f.pdts).set(Field::PASIDDIRPTR, f.pasiddirptr);
  e.set(Field::RID_PASID, f.rid_pasid).set(Field::RID_PRIV, f.rid_priv);
  return e;
}

// Paging modes as data (spec 3.6 / 3.7): one walker walks them all.
namespace {
constexpr PagingMode kSsModes[] = {{0, 0}, {3, 39}, {4, 48}, {5, 57}};
constexpr PagingMode kFsModes[] = {{4, 48}, {5, 57}};
}  // namespace

bool ss_mode_for_aw(uint8_t aw, PagingMode* out) {
  if (aw < 1 || aw > 3) return false;
  *out = kSsModes[aw];
  return true;
}

bool fs_mode_for_fspm(uint8_t fspm, PagingMode* out) {
  if (fspm > 1) return false;
  *out = kFsModes[fspm];
  return true;
}

Entry entry_from_words(EntryKind k, std::span<const uint64_t> words) {
  Entry e(k);
  for (size_t i = 0; i < words.size() && i < kMaxWords; ++i) e.w[i] = words[i];
  return e;
}

}  // namespace vtd::sim

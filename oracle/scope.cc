#include "oracle/scope.h"

#include <algorithm>
#include <cstdio>

namespace vtd::oracle {

using sim::CacheKind;
using sim::Descriptor;
using sim::Iova;
using sim::kNoPasid;
using sim::Sid;

namespace {

// VTD-REFERENCE.md "Invalidation queue descriptors", field by field. Written
// as fields rather than as the masks simulator/invq.cc uses, so the two
// readings of the table can disagree.
struct Bits {
  uint8_t word, lo, width;
};
constexpr Bits kBits[kDescFields] = {
    {0, 4, 2},   {0, 6, 1}, {0, 7, 1}, {0, 16, 16}, {0, 32, 16}, {0, 48, 2}, {0, 16, 16},
    {0, 32, 20}, {1, 0, 6}, {1, 6, 1}, {1, 12, 52}, {1, 0, 1},   {1, 11, 1}, {1, 0, 1},
    {0, 4, 1},   {0, 5, 1}, {0, 6, 1}, {0, 32, 32}, {1, 2, 62},
};
constexpr uint32_t bit(DescField f) {
  return 1u << f;
}
struct TypeDef {
  uint8_t type;
  uint32_t fields;
  uint8_t valid_g;  // G values the type accepts; 0 when it has no G
};
constexpr TypeDef kTypes[] = {
    {sim::kDescContext, bit(G) | bit(DID) | bit(CSID) | bit(FM), 0b1110},
    {sim::kDescIotlb, bit(G) | bit(DW) | bit(DR) | bit(DID) | bit(AM) | bit(IH) | bit(ADDR),
     0b1110},
    {sim::kDescDevTlb, bit(CSID) | bit(S) | bit(ADDR), 0},
    {sim::kDescWait, bit(IF) | bit(SW) | bit(FN) | bit(DATA) | bit(STATUS), 0},
    {sim::kDescPasidIotlb, bit(G) | bit(DID) | bit(PASID) | bit(AM) | bit(IH) | bit(ADDR), 0b1100},
    {sim::kDescPasidCache, bit(G) | bit(DID) | bit(PASID), 0b1011},
    {sim::kDescPasidDevTlb, bit(PSID) | bit(PASID) | bit(PG) | bit(PS) | bit(ADDR), 0},
};

uint64_t get(const Descriptor& d, DescField f) {
  const Bits b = kBits[f];
  const uint64_t v = d.w[b.word] >> b.lo;
  return b.width == 64 ? v : v & ((1ull << b.width) - 1);
}

const TypeDef* type_def(uint8_t type) {
  for (const TypeDef& t : kTypes)
    if (t.type == type) return &t;
  return nullptr;
}

// Why hardware rejects the descriptor (IQE), or nullptr.
}  // namespace

const char* malformed(const Descriptor& d, bool dw256) {
  const uint8_t type = d.type();
  const TypeDef* t = type_def(type);
  if (!t) return "unknown type";
  uint64_t allowed[2] = {0xf | 7ull << 9, 0};
  for (uint8_t f = 0; f < kDescFields; ++f)
    if (t->fields & bit(DescField(f))) {
      const Bits b = kBits[f];
      allowed[b.word] |= (b.width == 64 ? ~0ull : (1ull << b.width) - 1) << b.lo;
    }
  if ((d.w[0] & ~allowed[0]) || (d.w[1] & ~allowed[1])) return "reserved bit";
  if (dw256 && (d.w[2] | d.w[3])) return "reserved bit";
  if (t->valid_g && !(t->valid_g >> get(d, G) & 1)) return "bad granularity";
  if (type == sim::kDescWait && !get(d, SW) && !get(d, IF)) return "wait with neither SW nor IF";
  return nullptr;
}

namespace {

// Address ranges: page-selective AM (ADDR aligned to 2^AM pages), and the
// device-TLB's S encoding (spec 6.5.2.5: with S=1 the lowest clear bit of
// ADDR[63:12] gives the size; all ones is everything).
struct Range {
  uint64_t base = 0, size = 0;  // size 0: every address
  bool overlaps(Iova b, uint64_t span) const {
    return size == 0 || (b < base + size && base < b + span);
  }
};
Range am_range(const Descriptor& d) {
  const uint64_t am = get(d, AM);
  if (am >= 52) return {};
  const uint64_t size = sim::kPageSize << am;
  return {(get(d, ADDR) << 12) & ~(size - 1), size};
}
Range s_range(const Descriptor& d, bool s) {
  const uint64_t addr = get(d, ADDR) << 12;
  if (!s) return {addr, sim::kPageSize};
  unsigned ones = 0;
  while (ones < 52 && (addr >> (12 + ones) & 1)) ++ones;
  if (ones >= 51) return {};
  const uint64_t size = sim::kPageSize << (ones + 1);
  return {addr & ~(size - 1), size};
}

}  // namespace

uint8_t valid_granularities(uint8_t type) {
  const TypeDef* t = type_def(type);
  return t ? t->valid_g : 0;
}

uint64_t span_of(const CachedLine& l) {
  // A paging-structure line caches a pointer to a table of `level`, which
  // covers the span of the level above it.
  return sim::level_span(l.cache == CacheKind::Psc ? l.level + 1 : l.level);
}

uint64_t field(const Descriptor& d, DescField f) {
  return get(d, f);
}

std::string CachedLine::str() const {
  char buf[160];
  static const char* const kNames[] = {"context", "pasid", "iotlb", "psc", "devtlb"};
  const char* name = size_t(cache) < 5 ? kNames[size_t(cache)] : "?";
  std::string p = pasid == kNoPasid ? "-" : std::to_string(pasid);
  snprintf(buf, sizeof buf, "%s sid=%s did=%u pasid=%s level=%u iova=0x%llx%s", name,
           Sid(sid).str().c_str(), did, p.c_str(), level, (unsigned long long)base,
           present ? "" : " not-present");
  return buf;
}

std::vector<CachedLine> lines_of(const sim::Caches& c) {
  std::vector<CachedLine> v;
  for (const auto& [sid, l] : c.ctx())
    v.push_back({CacheKind::Context, sid, kNoPasid, l.did, 0, 0, true});
  for (const auto& [k, l] : c.pasid())
    v.push_back({CacheKind::Pasid, k.first, k.second, l.did, 0, 0, l.entry.present()});
  for (const auto& [k, t] : c.iotlb())
    v.push_back({CacheKind::Iotlb, 0, k.pasid_tag, k.did, k.level, k.base, true});
  for (const auto& [k, l] : c.psc())
    v.push_back({CacheKind::Psc, 0, k.pasid_tag, k.did, k.level, k.base, true});
  for (const auto& [k, t] : c.devtlb())
    v.push_back({CacheKind::DevTlb, k.sid, k.pasid, 0, k.level, k.base, true});
  std::sort(v.begin(), v.end());
  return v;
}

// Which lines each descriptor reaches (VTD-REFERENCE.md "Tagging of cached
// translations"; spec 6.5.2.1-6.5.2.7).
bool removes(const Descriptor& d, bool scalable, const CachedLine& l) {
  const uint64_t g = get(d, G);
  const uint16_t did = uint16_t(get(d, DID));
  const uint32_t pasid = uint32_t(get(d, PASID));
  const bool translation = l.cache == CacheKind::Iotlb || l.cache == CacheKind::Psc;
  switch (d.type()) {
    case sim::kDescContext: {
      if (l.cache != CacheKind::Context) return false;
      if (g == 1) return true;
      if (g == 2) return l.did == did;
      // FM masks the low 1, 2 or 3 function bits; in scalable mode the
      // context entry has no DID and the SID alone selects.
      const uint16_t mask = uint16_t((1u << get(d, FM)) - 1) << (3 - get(d, FM));
      return (l.sid | mask) == (uint16_t(get(d, CSID)) | mask) && (scalable || l.did == did);
    }
    case sim::kDescIotlb:
      if (!translation) return false;
      if (g == 1) return true;
      if (l.did != did) return false;
      if (g == 2) return true;
      return am_range(d).overlaps(l.base, span_of(l)) && !(l.cache == CacheKind::Psc && get(d, IH));
    case sim::kDescPasidIotlb:
      if (!translation || l.did != did || l.pasid != pasid) return false;
      if (g == 2) return true;
      return am_range(d).overlaps(l.base, span_of(l)) && !(l.cache == CacheKind::Psc && get(d, IH));
    case sim::kDescPasidCache:
      if (l.cache != CacheKind::Pasid) return false;
      if (g == 3) return true;
      if (g == 0) return l.did == did;
      // A not-present line (CM=1) carries no DID: its PASID selects it.
      return l.pasid == pasid && (l.did == did || !l.present);
    case sim::kDescDevTlb:
      return l.cache == CacheKind::DevTlb && l.sid == get(d, CSID) && l.pasid == kNoPasid &&
             s_range(d, get(d, S)).overlaps(l.base, span_of(l));
    case sim::kDescPasidDevTlb:
      return l.cache == CacheKind::DevTlb && l.sid == get(d, PSID) &&
             (get(d, PG) || l.pasid == pasid) &&
             s_range(d, get(d, PS)).overlaps(l.base, span_of(l));
    default:
      return false;
  }
}

}  // namespace vtd::oracle

#include "simulator/descriptors.h"

#include <cstdio>

namespace vtd::sim {
namespace {

constexpr uint64_t mask(unsigned lo, unsigned hi) {
  return (hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1);
}

constexpr uint64_t kTypeBits = mask(0, 3) | mask(9, 11);

// Which bits each descriptor may set, and which granularities are valid
// (VTD-REFERENCE.md, invalidation descriptor table). Everything else is
// reserved and raises IQE.
struct DescDef {
  uint8_t type;
  const char* name;
  uint64_t lo, hi;
  uint8_t valid_g;  // bitmask of valid G values; 0 = no G field
};
constexpr DescDef kDescs[] = {
    {kDescContext, "context", mask(4, 5) | mask(16, 31) | mask(32, 47) | mask(48, 49), 0, 0b1110},
    {kDescIotlb, "iotlb", mask(4, 5) | mask(6, 7) | mask(16, 31), mask(0, 6) | mask(12, 63),
     0b1110},
    {kDescDevTlb, "devtlb", mask(32, 47), mask(0, 0) | mask(12, 63), 0},
    {kDescWait, "wait", mask(4, 6) | mask(32, 63), mask(2, 63), 0},
    {kDescPasidIotlb, "piotlb", mask(4, 5) | mask(16, 31) | mask(32, 51), mask(0, 6) | mask(12, 63),
     0b1100},
    {kDescPasidCache, "pasid-cache", mask(4, 5) | mask(16, 31) | mask(32, 51), 0, 0b1011},
    {kDescPasidDevTlb, "pdevtlb", mask(16, 31) | mask(32, 51), mask(0, 0) | mask(11, 63), 0},
};

const DescDef* def_of(uint8_t type) {
  for (const DescDef& d : kDescs)
    if (d.type == type) return &d;
  return nullptr;
}

Descriptor make(uint8_t type, uint64_t lo, uint64_t hi) {
  Descriptor d;
  d.w[0] = (type & 0xf) | (uint64_t(type >> 4) << 9) | lo;
  d.w[1] = hi;
  return d;
}

// Device-TLB size encoding (spec 6.5.2.5): S=0 one page; S=1 the size is
// encoded by the lowest clear bit of ADDR[63:12].
uint64_t size_encode(Iova addr, uint8_t am, unsigned s_bit) {
  if (am == 0) return addr & ~(kPageSize - 1);
  if (am >= 52) return 0x7ffffffffffff000ull | (1ull << s_bit);
  uint64_t size = kPageSize << am;
  return (addr & ~(size - 1)) | (((1ull << (am - 1)) - 1) << kPageShift) | (1ull << s_bit);
}

std::string num(uint64_t v) {
  return std::to_string(v);
}

}  // namespace

const char* desc_type_name(uint8_t type) {
  const DescDef* d = def_of(type);
  return d ? d->name : "unknown";
}

const char* desc_error_name(DescError e) {
  static const char* const kNames[] = {"none", "unknown-type", "reserved-bit", "bad-granularity",
                                       "no-status"};
  return kNames[size_t(e)];
}

std::string Descriptor::str() const {
  static const char* const kCtxG[] = {"?", "global", "domain", "device"};
  static const char* const kIotlbG[] = {"?", "global", "domain", "page"};
  static const char* const kPiotlbG[] = {"?", "?", "pasid", "page"};
  static const char* const kPcG[] = {"domain", "pasid", "?", "global"};
  const std::string addr = hex(w[1] & ~0xfffull);
  switch (type()) {
    case kDescContext:
      return std::string("context g=") + kCtxG[granularity()] + " did=" + num(did()) +
             " sid=" + Sid(uint16_t(w[0] >> 32)).str() + " fm=" + num(w[0] >> 48 & 3);
    case kDescIotlb:
      return std::string("iotlb g=") + kIotlbG[granularity()] + " did=" + num(did()) +
             " addr=" + addr + " am=" + num(w[1] & 0x3f) + " ih=" + num(w[1] >> 6 & 1);
    case kDescDevTlb:
      return "devtlb sid=" + Sid(uint16_t(w[0] >> 32)).str() + " addr=" + addr +
             " s=" + num(w[1] & 1);
    case kDescWait:
      return "wait sw=" + num(w[0] >> 5 & 1) + " if=" + num(w[0] >> 4 & 1) +
             " fn=" + num(w[0] >> 6 & 1) + " status=" + hex(w[1] & ~3ull) +
             " data=" + num(w[0] >> 32);
    case kDescPasidIotlb:
      return std::string("piotlb g=") + kPiotlbG[granularity()] + " did=" + num(did()) +
             " pasid=" + num(pasid()) + " addr=" + addr + " am=" + num(w[1] & 0x3f);
    case kDescPasidCache:
      return std::string("pasid-cache g=") + kPcG[granularity()] + " did=" + num(did()) +
             " pasid=" + num(pasid());
    case kDescPasidDevTlb:
      return "pdevtlb sid=" + Sid(uint16_t(w[0] >> 16)).str() + " pasid=" + num(pasid()) +
             " g=" + num(w[1] & 1) + " addr=" + addr + " s=" + num(w[1] >> 11 & 1);
    default: {
      char buf[64];  // raw words: fixed width, no 0x (not an address)
      snprintf(buf, sizeof buf, "type%u %016llx %016llx", type(), (unsigned long long)w[0],
               (unsigned long long)w[1]);
      return buf;
    }
  }
}

DescError check_descriptor(const Descriptor& d, bool dw256) {
  const DescDef* def = def_of(d.type());
  if (!def) return DescError::UnknownType;
  if ((d.w[0] & ~(def->lo | kTypeBits)) || (d.w[1] & ~def->hi)) return DescError::Reserved;
  if (dw256 && (d.w[2] || d.w[3])) return DescError::Reserved;
  if (def->valid_g && !(def->valid_g >> d.granularity() & 1)) return DescError::BadGranularity;
  if (def->type == kDescWait && !(d.w[0] & (3ull << 4))) return DescError::NoStatus;
  return DescError::None;
}

namespace desc {
Descriptor context_global() {
  return make(kDescContext, 1ull << 4, 0);
}
Descriptor context_domain(uint16_t did) {
  return make(kDescContext, 2ull << 4 | uint64_t(did) << 16, 0);
}
Descriptor context_device(uint16_t did, Sid sid, uint8_t fm) {
  return make(kDescContext,
              3ull << 4 | uint64_t(did) << 16 | uint64_t(sid.v) << 32 | uint64_t(fm & 3) << 48, 0);
}
Descriptor iotlb_global() {
  return make(kDescIotlb, 1ull << 4, 0);
}
Descriptor iotlb_domain(uint16_t did) {
  return make(kDescIotlb, 2ull << 4 | uint64_t(did) << 16, 0);
}
Descriptor iotlb_page(uint16_t did, Iova addr, uint8_t am, bool ih) {
  return make(kDescIotlb, 3ull << 4 | uint64_t(did) << 16,
              (addr & ~(kPageSize - 1)) | (am & 0x3f) | uint64_t(ih) << 6);
}
Descriptor devtlb(Sid sid, Iova addr, uint8_t am) {
  return make(kDescDevTlb, uint64_t(sid.v) << 32, size_encode(addr, am, 0));
}
Descriptor devtlb_all(Sid sid) {
  return devtlb(sid, 0, 64);
}
Descriptor wait(PhysAddr status, uint32_t data, bool fence) {
  return make(kDescWait, 1ull << 5 | uint64_t(fence) << 6 | uint64_t(data) << 32, status & ~3ull);
}
Descriptor piotlb_pasid(uint16_t did, uint32_t pasid) {
  return make(kDescPasidIotlb, 2ull << 4 | uint64_t(did) << 16 | uint64_t(pasid & 0xfffff) << 32,
              0);
}
Descriptor piotlb_page(uint16_t did, uint32_t pasid, Iova addr, uint8_t am, bool ih) {
  return make(kDescPasidIotlb, 3ull << 4 | uint64_t(did) << 16 | uint64_t(pasid & 0xfffff) << 32,
              (addr & ~(kPageSize - 1)) | (am & 0x3f) | uint64_t(ih) << 6);
}
Descriptor pasid_cache_domain(uint16_t did) {
  return make(kDescPasidCache, uint64_t(did) << 16, 0);
}
Descriptor pasid_cache_pasid(uint16_t did, uint32_t pasid) {
  return make(kDescPasidCache, 1ull << 4 | uint64_t(did) << 16 | uint64_t(pasid & 0xfffff) << 32,
              0);
}
Descriptor pasid_cache_global() {
  return make(kDescPasidCache, 3ull << 4, 0);
}
Descriptor pdevtlb(Sid sid, uint32_t pasid, Iova addr, uint8_t am) {
  return make(kDescPasidDevTlb, uint64_t(sid.v) << 16 | uint64_t(pasid & 0xfffff) << 32,
              size_encode(addr, am, 11));
}
Descriptor pdevtlb_global(Sid sid, uint32_t pasid) {
  Descriptor d = pdevtlb(sid, pasid, 0, 64);
  d.w[1] |= 1;
  return d;
}
}  // namespace desc

}  // namespace vtd::sim

#include "simulator/invq.h"

#include <cstdio>

#include "simulator/formats.h"

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

uint64_t did_of(const Descriptor& d) {
  return d.w[0] >> 16 & 0xffff;
}
uint32_t pasid_of(const Descriptor& d) {
  return uint32_t(d.w[0] >> 32 & 0xfffff);
}

Descriptor make(uint8_t type, uint64_t lo, uint64_t hi) {
  Descriptor d;
  d.w[0] = (type & 0xf) | (uint64_t(type >> 4) << 9) | lo;
  d.w[1] = hi;
  return d;
}

// Page-selective range: AM = log2(pages), ADDR aligned to it.
AddrRange am_range(uint64_t hi) {
  uint8_t am = uint8_t(hi & 0x3f);
  uint64_t size = am >= 52 ? 0 : kPageSize << am;
  Iova base = hi & ~(kPageSize - 1);
  if (size) base &= ~(size - 1);
  return {base, size};
}

// Device-TLB range: S=0 one page; S=1 the size is encoded by the lowest
// clear bit of ADDR[63:12] (spec 6.5.2.5); all ones in 62:12 is everything.
AddrRange size_range(uint64_t hi, unsigned s_bit) {
  Iova addr = hi & ~(kPageSize - 1);
  if (!(hi >> s_bit & 1)) return {addr, kPageSize};
  uint64_t pfn = addr >> kPageShift;
  unsigned ones = 0;
  while (ones < 52 && (pfn >> ones & 1)) ++ones;
  if (ones >= 51) return {0, 0};
  uint64_t size = kPageSize << (ones + 1);
  return {addr & ~(size - 1), size};
}

uint64_t size_encode(Iova addr, uint8_t am, unsigned s_bit) {
  if (am == 0) return addr & ~(kPageSize - 1);
  if (am >= 52) return 0x7ffffffffffff000ull | (1ull << s_bit);
  uint64_t size = kPageSize << am;
  return (addr & ~(size - 1)) | (((1ull << (am - 1)) - 1) << kPageShift) | (1ull << s_bit);
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
  char buf[160];
  uint8_t t = type();
  const char* g = "";
  static const char* const kCtxG[] = {"?", "global", "domain", "device"};
  static const char* const kIotlbG[] = {"?", "global", "domain", "page"};
  static const char* const kPiotlbG[] = {"?", "?", "pasid", "page"};
  static const char* const kPcG[] = {"domain", "pasid", "?", "global"};
  switch (t) {
    case kDescContext:
      snprintf(buf, sizeof buf, "context g=%s did=%llu sid=%s fm=%llu", kCtxG[granularity()],
               (unsigned long long)did_of(*this), Sid(uint16_t(w[0] >> 32)).str().c_str(),
               (unsigned long long)(w[0] >> 48 & 3));
      break;
    case kDescIotlb:
      g = kIotlbG[granularity()];
      snprintf(buf, sizeof buf, "iotlb g=%s did=%llu addr=0x%llx am=%llu ih=%llu", g,
               (unsigned long long)did_of(*this), (unsigned long long)(w[1] & ~0xfffull),
               (unsigned long long)(w[1] & 0x3f), (unsigned long long)(w[1] >> 6 & 1));
      break;
    case kDescDevTlb:
      snprintf(buf, sizeof buf, "devtlb sid=%s addr=0x%llx s=%llu",
               Sid(uint16_t(w[0] >> 32)).str().c_str(), (unsigned long long)(w[1] & ~0xfffull),
               (unsigned long long)(w[1] & 1));
      break;
    case kDescWait:
      snprintf(buf, sizeof buf, "wait sw=%llu if=%llu fn=%llu status=0x%llx data=%llu",
               (unsigned long long)(w[0] >> 5 & 1), (unsigned long long)(w[0] >> 4 & 1),
               (unsigned long long)(w[0] >> 6 & 1), (unsigned long long)(w[1] & ~3ull),
               (unsigned long long)(w[0] >> 32));
      break;
    case kDescPasidIotlb:
      snprintf(buf, sizeof buf, "piotlb g=%s did=%llu pasid=%u addr=0x%llx am=%llu",
               kPiotlbG[granularity()], (unsigned long long)did_of(*this), pasid_of(*this),
               (unsigned long long)(w[1] & ~0xfffull), (unsigned long long)(w[1] & 0x3f));
      break;
    case kDescPasidCache:
      snprintf(buf, sizeof buf, "pasid-cache g=%s did=%llu pasid=%u", kPcG[granularity()],
               (unsigned long long)did_of(*this), pasid_of(*this));
      break;
    case kDescPasidDevTlb:
      snprintf(buf, sizeof buf, "pdevtlb sid=%s pasid=%u g=%llu addr=0x%llx s=%llu",
               Sid(uint16_t(w[0] >> 16)).str().c_str(), pasid_of(*this),
               (unsigned long long)(w[1] & 1), (unsigned long long)(w[1] & ~0xfffull),
               (unsigned long long)(w[1] >> 11 & 1));
      break;
    default:
      snprintf(buf, sizeof buf, "type%u %016llx %016llx", t, (unsigned long long)w[0],
               (unsigned long long)w[1]);
  }
  return buf;
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

// ------------------------------------------------------------ the queue

InvQueue::InvQueue(const Config& cfg, PhysMemory& mem, Caches& caches)
    : cfg_(cfg), mem_(mem), caches_(caches) {}

uint32_t InvQueue::entries() const {
  return uint32_t((kPageSize << (iqa_ & 7)) / entry_bytes());
}

uint64_t InvQueue::read(Reg r) const {
  switch (r) {
    case Reg::IQA:
      return iqa_;
    case Reg::IQH:
      return iqh_;
    case Reg::IQT:
      return iqt_;
    case Reg::FSTS:
      return fsts_;
    default:
      return 0;
  }
}

void InvQueue::write(Reg r, uint64_t v) {
  switch (r) {
    case Reg::IQA:
      iqa_ = v;
      iqh_ = iqt_ = 0;
      break;
    case Reg::IQT:
      iqt_ = v % (uint64_t(entries()) * entry_bytes());
      break;
    case Reg::FSTS:
      fsts_ &= ~v;
      break;  // write 1 to clear
    default:
      break;
  }
}

bool InvQueue::idle() const {
  return iqh_ == iqt_ || (fsts_ & (fsts::IQE | fsts::ITE | fsts::ICE));
}

void InvQueue::raise(uint64_t bit, bool injected, PhysAddr at, const Descriptor* d) {
  fsts_ |= bit;
  if (!obs_) return;
  HwEvent e;
  e.kind = EventKind::QueueError;
  e.v0 = bit;
  e.injected = injected;
  e.addr = at;
  if (d) e.desc_type = d->type();
  obs_->on_event(e);
}

uint32_t InvQueue::process(uint32_t max) {
  uint32_t n = 0;
  const uint64_t size = uint64_t(entries()) * entry_bytes();
  const bool dw = iqa_ & iqa::DW;
  while (n < max && !idle()) {
    PhysAddr at = (iqa_ & ~(kPageSize - 1)) + iqh_;
    Descriptor d;
    for (uint32_t i = 0; i < entry_bytes() / 8; ++i) d.w[i] = mem_.load(at + 8 * i);
    if (inject_) {
      uint64_t bit = inject_;
      inject_ = 0;
      raise(bit, true, at, &d);
      if (bit != fsts::IQE) iqh_ = (iqh_ + entry_bytes()) % size;  // aborted, not executed
      break;
    }
    DescError err = check_descriptor(d, dw);
    if (err != DescError::None) {
      raise(fsts::IQE, false, at, &d);  // the head stays on the bad descriptor
      break;
    }
    bool ok = execute(d, at);
    iqh_ = (iqh_ + entry_bytes()) % size;
    ++n;
    ++processed_;
    if (!ok) break;
  }
  return n;
}

bool InvQueue::execute(const Descriptor& d, PhysAddr at) {
  const uint16_t did = uint16_t(did_of(d));
  const uint8_t g = d.granularity();
  switch (d.type()) {
    case kDescContext:
    case kDescIotlb:
    case kDescPasidIotlb:
    case kDescPasidCache:
      if (drain_) drain_();
      break;
    default:
      break;
  }
  if (obs_) {
    HwEvent e;
    e.kind = EventKind::Descriptor;
    e.desc_type = d.type();
    e.v0 = d.w[0];
    e.v1 = d.w[1];
    e.addr = at;
    e.did = did;
    obs_->on_event(e);
  }
  switch (d.type()) {
    case kDescContext:
      if (g == 1) caches_.ctx_inv_global();
      if (g == 2) caches_.ctx_inv_domain(did);
      // Scalable-mode context entries carry no DID: the SID selects.
      if (g == 3)
        caches_.ctx_inv_device(did, Sid(uint16_t(d.w[0] >> 32)), uint8_t(d.w[0] >> 48 & 3),
                               !cfg_.scalable);
      return true;
    case kDescIotlb: {
      bool page = g == 3;
      caches_.iotlb_inv(g == 1, did, kNoPasid, page ? am_range(d.w[1]) : AddrRange{},
                        page && (d.w[1] >> 6 & 1));
      return true;
    }
    case kDescPasidIotlb: {
      bool page = g == 3;
      caches_.iotlb_inv(false, did, pasid_of(d), page ? am_range(d.w[1]) : AddrRange{},
                        page && (d.w[1] >> 6 & 1));
      return true;
    }
    case kDescPasidCache:
      if (g == 0) caches_.pasid_inv_domain(did);
      if (g == 1) caches_.pasid_inv_pasid(did, pasid_of(d));
      if (g == 3) caches_.pasid_inv_global();
      return true;
    case kDescDevTlb:
    case kDescPasidDevTlb: {
      bool pasid_form = d.type() == kDescPasidDevTlb;
      Sid sid(uint16_t(pasid_form ? d.w[0] >> 16 : d.w[0] >> 32));
      if (present_ && !present_(sid)) {
        raise(fsts::ITE, false, at, &d);  // the device never answers
        return false;
      }
      AddrRange r = size_range(d.w[1], pasid_form ? 11 : 0);
      if (pasid_form)
        caches_.devtlb_inv(sid, pasid_of(d), d.w[1] & 1, r);
      else
        caches_.devtlb_inv(sid, kNoPasid, false, r);
      return true;
    }
    case kDescWait: {
      if (d.w[0] >> 5 & 1) {
        PhysAddr status = d.w[1] & ~3ull;
        PhysAddr word = status & ~7ull;
        unsigned shift = (status & 4) ? 32 : 0;
        uint64_t v = mem_.load(word);
        v = (v & ~(0xffffffffull << shift)) | (d.w[0] >> 32) << shift;
        mem_.hw_store(word, v);
      }
      if (obs_) {
        HwEvent e;
        e.kind = EventKind::WaitDone;
        e.addr = d.w[1] & ~3ull;
        e.v0 = d.w[0] >> 32;
        obs_->on_event(e);
      }
      return true;
    }
    default:
      return true;
  }
}

}  // namespace vtd::sim

#include "simulator/invq.h"

#include "simulator/formats.h"

namespace vtd::sim {
namespace {

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

}  // namespace

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
  const uint16_t did = d.did();
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
      caches_.iotlb_inv(false, did, d.pasid(), page ? am_range(d.w[1]) : AddrRange{},
                        page && (d.w[1] >> 6 & 1));
      return true;
    }
    case kDescPasidCache:
      if (g == 0) caches_.pasid_inv_domain(did);
      if (g == 1) caches_.pasid_inv_pasid(did, d.pasid());
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
        caches_.devtlb_inv(sid, d.pasid(), d.w[1] & 1, r);
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

#include "vmm/vunit.h"

namespace vtd::vmm {

VirtualUnit::VirtualUnit(sim::PhysMemory& mem, const sim::Config& host, Iommufd& fd,
                         Propagator& prop)
    : mem_(mem), fd_(fd), prop_(prop) {
  guest_cfg_.scalable = true;
  guest_cfg_.coherent = true;
  guest_cfg_.caching_mode = true;
  guest_cfg_.five_level = host.five_level;
}

void VirtualUnit::assign(const AssignedDevice& d) {
  devs_.push_back(d);
  VmmEvent e;
  e.kind = VmmEventKind::Assign;
  e.device = &devs_.back();
  emit(e);
  // A device arriving while remapping is on follows its entries at once.
  if (te_) remapping_changed();
}

uint64_t VirtualUnit::mmio_read(sim::Reg r) {
  switch (r) {
    case sim::Reg::CAP:
      return guest_cfg_.cap();
    case sim::Reg::ECAP:
      // First-stage only (x-flts=on): no second-stage, no nesting for the
      // guest; pass-through binds the host's nesting parent.
      return guest_cfg_.ecap() & ~(sim::ecap::SSTS | sim::ecap::NEST);
    case sim::Reg::RTADDR:
      return rtaddr_;
    case sim::Reg::FSTS:
      return fsts_;
    case sim::Reg::IQA:
      return iqa_;
    case sim::Reg::IQH:
      return iqh_;
    case sim::Reg::IQT:
      return iqt_;
    case sim::Reg::GCMD:  // write-only (spec 11.4.4)
    case sim::Reg::GSTS:
      // The unit takes TE from set_remapping, not from GCMD, and keeps no
      // status: only a live update's restore reads GSTS, on the host.
      return 0;
  }
  return 0;
}

void VirtualUnit::mmio_write(sim::Reg r, uint64_t v) {
  switch (r) {
    case sim::Reg::RTADDR:
      // SRTP: the root table (and its mode) takes effect now; translation
      // is enabled by the guest's driver right after (set_remapping).
      rtaddr_ = v;
      if (te_) remapping_changed();
      return;
    case sim::Reg::IQA:
      iqa_ = v;
      iqh_ = iqt_ = 0;
      return;
    case sim::Reg::IQT:
      iqt_ = v % queue_bytes();
      process();
      return;
    case sim::Reg::FSTS:
      fsts_ &= ~v;  // write 1 to clear; the queue moves on
      process();
      return;
    default:
      return;  // read-only
  }
}

void VirtualUnit::process() {
  if (busy_ || !(iqa_ & ~0xfffull)) return;
  busy_ = true;
  const sim::PhysAddr base = iqa_ & ~0xfffull;
  const bool dw = iqa_ & sim::iqa::DW;
  while (iqh_ != iqt_ && !(fsts_ & sim::fsts::IQE)) {
    sim::Descriptor d;
    for (uint32_t i = 0; i < entry_bytes() / 8; ++i) d.w[i] = mem_.load(base + iqh_ + 8 * i);
    VmmEvent e;
    e.desc = d;
    if (sim::check_descriptor(d, dw) != sim::DescError::None) {
      fsts_ |= sim::fsts::IQE;  // the head stays on it (spec 6.5.2.10)
      e.kind = VmmEventKind::QueueError;
      emit(e);
      break;
    }
    e.seq = ++seq_;
    if (d.type() == sim::kDescWait) {
      if (d.w[0] >> 5 & 1) {  // SW: status data lo[63:32] to the address in hi
        const sim::PhysAddr status = d.w[1] & ~3ull, word = status & ~7ull;
        const unsigned shift = (status & 4) ? 32 : 0;
        uint64_t v = mem_.load(word);
        v = (v & ~(0xffffffffull << shift)) | (d.w[0] >> 32) << shift;
        mem_.hw_store(word, v);
      }
      iqh_ = (iqh_ + entry_bytes()) % queue_bytes();
      e.kind = VmmEventKind::WaitDone;
      emit(e);
      continue;
    }
    e.kind = VmmEventKind::Descriptor;
    emit(e);
    prop_.descriptor(*this, d);
    iqh_ = (iqh_ + entry_bytes()) % queue_bytes();
    e.kind = VmmEventKind::Handled;
    emit(e);
  }
  busy_ = false;
}

void VirtualUnit::set_remapping(Remap r) {
  te_ = r != Remap::Off;
  if (r == Remap::On) rtaddr_ |= sim::rtaddr::TTM_SCALABLE;
  if (r == Remap::Legacy) rtaddr_ &= ~sim::rtaddr::TTM_SCALABLE;
  remapping_changed();
}

void VirtualUnit::remapping_changed() {
  VmmEvent e;
  e.kind = VmmEventKind::Remapping;
  e.remap = remap();
  emit(e);
  prop_.remapping(*this);
  e.kind = VmmEventKind::Handled;
  emit(e);
}

void VirtualUnit::reset() {
  rtaddr_ = iqa_ = iqh_ = iqt_ = fsts_ = 0;
  te_ = false;
  faults_.clear();
  VmmEvent e;
  e.kind = VmmEventKind::Reset;
  emit(e);
  prop_.reset(*this);
  e.kind = VmmEventKind::Handled;
  emit(e);
}

void VirtualUnit::report_fault(sim::Sid guest, uint32_t pasid, sim::FaultReason r) {
  faults_.record({r, guest, pasid, 0, sim::Access::Read});
  VmmEvent e;
  e.kind = VmmEventKind::GuestFault;
  e.sid = guest;
  e.pasid = pasid;
  e.reason = r;
  emit(e);
}

}  // namespace vtd::vmm

// The virtual remapping unit a guest sees (DESIGN.md section 13; QEMU's
// intel_iommu in accelerated mode, seeds/003): CAP with caching mode on
// (the guest must invalidate after making an entry present, so the VMM
// hears of every change), first-stage translation only, a root table
// pointer and an invalidation queue in guest memory. A write of the queue
// tail runs the new descriptors at once: a wait completes here, every
// other well-formed descriptor goes to the propagator, which keeps the
// virtual PASID cache and calls the iommufd facade. A malformed one raises
// IQE and stops the head on it until the guest clears FSTS.
#pragma once

#include <cstdint>
#include <vector>

#include "simulator/config.h"
#include "simulator/faults.h"
#include "simulator/memory.h"
#include "simulator/registers.h"
#include "vmm/events.h"
#include "vmm/iommufd.h"
#include "vmm/propagator.h"

namespace vtd::vmm {

class VirtualUnit final : public sim::Mmio, public VmmCtx {
 public:
  // `host` is the platform the guest runs on: the guest's memory is the
  // host's (GPA == HPA, as the nested walker assumes) and CAP reports
  // 5-level first-stage tables when the host has them.
  VirtualUnit(sim::PhysMemory& mem, const sim::Config& host, Iommufd& fd, Propagator& prop);
  void set_observer(VmmObserver* o) { obs_ = o; }

  // The VMM hands a device to the guest.
  void assign(const AssignedDevice& d);
  // The guest's remapping: off, on with its root table in scalable mode,
  // or on in legacy mode (GCMD.TE and SRTP with RTADDR.TTM); the
  // propagator hears of it.
  void set_remapping(Remap r);
  // A reset of the unit: registers, remapping off, every binding dropped.
  void reset();

  // sim::Mmio: the guest CPU's register accesses.
  uint64_t mmio_read(sim::Reg r) override;
  void mmio_write(sim::Reg r, uint64_t v) override;
  void idle_progress() override { process(); }

  // VmmCtx (the propagator's services).
  Iommufd& iommufd() override { return fd_; }
  std::span<const AssignedDevice> devices() const override { return devs_; }
  bool dmar_enabled() const override { return te_; }
  bool scalable() const override { return rtaddr_ & sim::rtaddr::TTM_SCALABLE; }
  uint64_t rtaddr() const override { return rtaddr_; }
  uint64_t read_guest(sim::PhysAddr gpa) override { return mem_.load(gpa); }
  void report_fault(sim::Sid guest, uint32_t pasid, sim::FaultReason r) override;

  // What the guest (and the oracle) can read.
  Remap remap() const { return !te_ ? Remap::Off : scalable() ? Remap::On : Remap::Legacy; }
  uint64_t fsts() const { return fsts_; }
  const sim::FaultLog& faults() const { return faults_; }
  // CAP and ECAP as the guest reads them.
  const sim::Config& guest_config() const { return guest_cfg_; }

 private:
  uint32_t entry_bytes() const { return (iqa_ & sim::iqa::DW) ? 32 : 16; }
  uint64_t queue_bytes() const { return sim::kPageSize << (iqa_ & 7); }
  void process();
  void remapping_changed();
  void emit(VmmEvent e) {
    if (obs_) obs_->on_vmm_event(e);
  }

  sim::PhysMemory& mem_;
  sim::Config guest_cfg_;
  Iommufd& fd_;
  Propagator& prop_;
  VmmObserver* obs_ = nullptr;
  std::vector<AssignedDevice> devs_;
  uint64_t rtaddr_ = 0, iqa_ = 0, iqh_ = 0, iqt_ = 0, fsts_ = 0;
  bool te_ = false;
  bool busy_ = false;  // processing: a nested tail write only moves the tail
  uint64_t seq_ = 0;
  sim::FaultLog faults_;
};

}  // namespace vtd::vmm

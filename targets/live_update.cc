#include "targets/live_update.h"

namespace vtd::harness {

using prog::OpKind;

std::unique_ptr<drv::Driver> LiveUpdate::boot(sim::Machine& m) {
  flow_ = drv::make_lu_flow(name_);
  if (!flow_) return nullptr;
  return std::make_unique<drv::Driver>(m.cpu0, writer_, flow_.get());
}

bool LiveUpdate::admits(OpKind k, drv::Status* st) const {
  const bool preserve = k == OpKind::PreserveDomain || k == OpKind::UnpreserveDomain ||
                        k == OpKind::Preserve || k == OpKind::Unpreserve;
  switch (phase_) {
    case Phase::Old:
      *st = drv::Status::Inval;
      return k != OpKind::Restore && k != OpKind::Finish;
    case Phase::Dark:
      *st = k == OpKind::Kexec || preserve || k == OpKind::Finish ? drv::Status::Inval
                                                                  : drv::Status::NoDev;
      return k == OpKind::Restore;
    case Phase::New:
      *st = drv::Status::Inval;
      return k != OpKind::Restore && k != OpKind::Kexec && !preserve;
  }
  return false;
}

drv::Status LiveUpdate::kexec(sim::Machine& m, oracle::Oracle& o, std::unique_ptr<drv::Driver>& d,
                              trace::Recorder* trace) {
  sim::PhysAddr kho = 0;
  drv::Status st = d->shutdown(&kho);
  if (!drv::ok(st)) return st;  // failed before its first store: no kexec
  // machine_kexec: every CPU stops (nothing stays in a store buffer).
  m.cpu0.wmb();
  m.cpu1.wmb();
  o.kexec();
  const size_t freed = m.mem.kexec(kho);
  d.reset();
  flow_.reset();
  phase_ = Phase::Dark;
  if (trace) {
    trace->note("kexec: the old kernel is gone; KHO page " + sim::hex(kho) + ", " +
                std::to_string(m.mem.pages_in_use()) + " pages handed over, " +
                std::to_string(freed) + " freed (poisoned)");
    trace->note("dark window: no kernel; the unit keeps root " + sim::hex(m.iommu.rtaddr()) +
                ", TE " + (m.iommu.translating() ? "on" : "off") + ", its caches and " +
                std::to_string(m.iommu.parked_walks()) + " parked walks");
  }
  return drv::Status::Ok;
}

drv::Status LiveUpdate::restore(sim::Machine& m, oracle::Oracle& o, std::unique_ptr<drv::Driver>& d,
                                uint32_t fail_nth, trace::Recorder* trace) {
  flow_ = drv::make_lu_flow(name_);
  d = std::make_unique<drv::Driver>(m.cpu0, writer_, flow_.get());
  d->set_observer(&o);
  if (fail_nth) d->fail_nth_alloc(fail_nth);
  const drv::Status st = d->restore(m.mem.kho());
  if (!drv::ok(st)) {  // no kernel came up: still dark
    d.reset();
    flow_.reset();
    return st;
  }
  phase_ = Phase::New;
  if (trace)
    trace->note("restore: the new kernel took over KHO page " + sim::hex(m.mem.kho()) +
                "; root table in use " + sim::hex(m.iommu.rtaddr()) + ", TE " +
                (m.iommu.translating() ? "on" : "off"));
  return st;
}

}  // namespace vtd::harness

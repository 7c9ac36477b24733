// Devices: probe, SR-IOV virtual functions, release (every attachment,
// then the scalable-mode context entry) and surprise removal.
#include <algorithm>

#include "driver/driver_impl.h"

namespace vtd::drv {

using sim::Entry;
using sim::EntryKind;
using sim::PageType;
using sim::Sid;

Status Driver::probe(Sid sid, DeviceCaps caps) {
  begin_call();
  if (devices_.count(sid.v)) return Status::Exist;
  if (!may_alloc()) return Status::NoMem;  // the device_domain_info
  auto d = std::make_unique<Device>();
  d->sid = sid;
  d->caps = caps;
  if (!caps_.scalable) d->caps.pasid = false;
  // A preserved device keeps its PASID structures (live update).
  const bool restoring = expected_.count(sid.v) != 0;
  if (caps_.scalable && !restoring) {
    d->pasid_dir = alloc_page(PageType::PasidDir);
    if (!d->pasid_dir) return Status::NoMem;
    flush_cpu_cache(d->pasid_dir, sim::kPageSize);
  }
  Device& dev = *d;
  devices_[sid.v] = std::move(d);
  if (!restoring) return Status::Ok;
  Status s = restore_device(dev);
  if (ok(s))
    expected_.erase(sid.v);
  else
    devices_.erase(sid.v);
  return s;
}

Status Driver::enable_vfs(Sid pf, uint8_t n) {
  begin_call();
  Device* p = device(pf);
  if (!p || p->gone) return Status::NoDev;
  if (p->vf || n == 0 || n > 8 || pf.bus() == 0xff) return Status::Inval;
  if (!p->vfs.empty()) return Status::Busy;
  // Every VF RID must be free before anything is allocated.
  for (uint8_t i = 0; i < n; ++i)
    if (devices_.count(Sid(uint8_t(pf.bus() + 1), 0, i).v)) return Status::Busy;
  std::vector<std::unique_ptr<Device>> made;
  for (uint8_t i = 0; i < n; ++i) {
    Sid vf(uint8_t(pf.bus() + 1), 0, i);
    auto d = std::make_unique<Device>();
    bool ok_alloc = may_alloc();
    // A preserved VF keeps its PASID structures (live update).
    if (ok_alloc && caps_.scalable && !expected_.count(vf.v)) {
      d->pasid_dir = alloc_page(PageType::PasidDir);
      ok_alloc = d->pasid_dir != 0;
      if (ok_alloc) flush_cpu_cache(d->pasid_dir, sim::kPageSize);
    }
    if (!ok_alloc) {
      for (auto& m : made)
        if (m->pasid_dir) cpu_->free_page(m->pasid_dir);
      return Status::NoMem;
    }
    d->sid = vf;
    d->caps = p->caps;
    d->vf = true;
    made.push_back(std::move(d));
  }
  for (auto& m : made) {
    p->vfs.push_back(m->sid);
    devices_[m->sid.v] = std::move(m);
  }
  // Live update: a VF that was preserved gets its restored domain as it is
  // created.
  for (size_t i = 0; i < p->vfs.size(); ++i) {
    Device& v = *device(p->vfs[i]);
    if (!expected_.count(v.sid.v)) continue;
    if (Status s = restore_device(v); !ok(s)) {
      for (size_t j = 0; j < i; ++j)
        if (expected_.count(p->vfs[j].v)) undo_restored(*device(p->vfs[j]));
      for (Sid vf : p->vfs) {
        if (Device* x = device(vf); x->pasid_dir && !expected_.count(vf.v))
          cpu_->free_page(x->pasid_dir);
        devices_.erase(vf.v);
      }
      p->vfs.clear();
      return s;
    }
  }
  for (Sid vf : p->vfs) expected_.erase(vf.v);
  return Status::Ok;
}

Status Driver::release_device(Ctx& ctx, Device& d) {
  // Every attachment goes (PASIDs first, the RID last), then the context.
  while (!d.att.empty()) {
    auto it = std::prev(d.att.end());
    Status s = switch_domain(ctx, d, it->first, nullptr);
    if (!ok(s)) return s;
  }
  if (d.ctx_live) {
    ctx.dev = &d;
    ctx.from = ctx.to = nullptr;
    ctx.at = {EntryKind::ScalableContext, context_entry_pa(d.sid), d.sid, sim::kNoPasid};
    Transition t{ctx.at,
                 read_entry(EntryKind::ScalableContext, ctx.at.pa),
                 Entry(EntryKind::ScalableContext),
                 0,
                 0,
                 false};
    writer_.update(ctx, t);
    d.ctx_live = false;
  }
  // Nothing can reach the PASID structures any more.
  for (auto& [idx, table] : d.pasid_tables) cpu_->free_page(table);
  if (d.pasid_dir) cpu_->free_page(d.pasid_dir);
  devices_.erase(d.sid.v);
  return Status::Ok;
}

Status Driver::release(Sid sid) {
  begin_call();
  Device* d = device(sid);
  if (!d) return Status::NoDev;
  if (d->preserved) return Status::Busy;  // live update: kept for the next kernel
  for (Sid vf : d->vfs)
    if (Device* v = device(vf); v && v->preserved) return Status::Busy;
  GroupLock group(*cpu_, sid);
  // A release changes many entries: its only allocation point, the call's
  // temporary DID, is taken before any of them.
  Ctx ctx(*this);
  if (!ctx.reserve_spare()) return Status::NoMem;
  for (Sid vf : std::vector<Sid>(d->vfs)) {
    // Each VF goes as a device of its own, under its own group's lock (the
    // kernel releases it with that group's mutex held): a detach of the VF
    // on another CPU waits, then finds no device. Without it a detach ran
    // at the release's first wait and the domain lost the VF's attachment
    // twice (its DID freed while another device still used it: P4, P5;
    // found by `soak` on every correct writer).
    if (Device* v = device(vf)) {
      GroupLock vf_group(*cpu_, vf);
      release_device(ctx, *v);
    }
  }
  d = device(sid);
  d->vfs.clear();
  if (d->vf)
    for (auto& [v, p] : devices_) {
      auto& list = p->vfs;
      list.erase(std::remove(list.begin(), list.end(), sid), list.end());
    }
  return release_device(ctx, *d);
}

Status Driver::surprise_remove(Sid sid) {
  Device* d = device(sid);
  if (!d) {
    begin_call();
    return Status::NoDev;
  }
  // Gone: no device-TLB invalidation may be sent to it (or its VFs), now or
  // later. A release that fails (-ENOMEM) leaves the tables, tags and
  // refcounts as they were, but the device stays gone: that is the hardware,
  // not driver state (a later detach must not wait on its device-TLB: ITE).
  d->gone = true;
  for (Sid vf : d->vfs)
    if (Device* v = device(vf)) v->gone = true;
  return release(sid);
}

}  // namespace vtd::drv

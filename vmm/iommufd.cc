#include "vmm/iommufd.h"

namespace vtd::vmm {

using drv::Status;

uint32_t Iommufd::next_id() const {
  uint32_t id = 1;  // XA_FLAGS_ALLOC1: never 0
  for (const auto& [used, obj] : objs_) {
    if (used != id) break;
    ++id;
  }
  return id;
}

const Iommufd::Object* Iommufd::find(uint32_t id, ObjKind kind) const {
  auto it = objs_.find(id);
  return it == objs_.end() || it->second.kind != kind ? nullptr : &it->second;
}

uint32_t Iommufd::attached(uint32_t dev_id, uint32_t pasid) const {
  auto it = att_.find({dev_id, pasid});
  return it == att_.end() ? 0 : it->second;
}

std::vector<uint32_t> Iommufd::attached_pasids(uint32_t dev_id) const {
  std::vector<uint32_t> out;
  for (const auto& [k, hwpt] : att_)
    if (k.first == dev_id) out.push_back(k.second);
  return out;
}

void Iommufd::begin(const FacadeCall& c) {
  if (!obs_) return;
  VmmEvent e;
  e.kind = VmmEventKind::CallBegin;
  e.call = &c;
  obs_->on_vmm_event(e);
}

Status Iommufd::finish(FacadeCall& c, Status st) {
  c.status = st;
  if (obs_) {
    VmmEvent e;
    e.kind = VmmEventKind::CallEnd;
    e.call = &c;
    obs_->on_vmm_event(e);
  }
  return st;
}

// The budget of the injected failure moves on by the allocations each host
// call made; the call that makes the n-th fails.
template <class F>
Status Iommufd::host_call(F f) {
  if (fail_nth_) host_.fail_nth_alloc(fail_nth_);
  Status st = f();
  if (fail_nth_) {
    const uint32_t made = host_.allocs_in_last_call();
    fail_nth_ = made >= fail_nth_ ? 0 : fail_nth_ - made;
    host_.fail_nth_alloc(0);
  }
  return st;
}

Status Iommufd::bind_device(sim::Sid host, uint32_t* dev_id) {
  FacadeCall c;
  c.call = Call::BindDevice;
  c.host = host;
  begin(c);
  if (!host_.has_device(host)) return finish(c, Status::NoDev);
  for (const auto& [id, o] : objs_)
    if (o.kind == ObjKind::Device && o.sid == host) return finish(c, Status::Busy);
  c.out_id = *dev_id = next_id();
  Object o;
  o.kind = ObjKind::Device;
  o.sid = host;
  objs_[c.out_id] = o;
  return finish(c, Status::Ok);
}

Status Iommufd::alloc_paging(uint32_t dev_id, uint32_t* id) {
  FacadeCall c;
  c.call = Call::AllocPaging;
  c.dev_id = dev_id;
  begin(c);
  if (!find(dev_id, ObjKind::Device)) return finish(c, Status::NoEnt);
  const uint32_t new_id = next_id();
  // The host domain is named by the HWPT's ID (both unique while alive).
  Status st = host_call([&] { return host_.domain_alloc(new_id, drv::DomainType::SecondStage); });
  if (!drv::ok(st)) return finish(c, st);
  Object o;
  o.kind = ObjKind::HwptPaging;
  objs_[new_id] = o;
  c.out_id = *id = new_id;
  return finish(c, st);
}

Status Iommufd::map(uint32_t hwpt, sim::Iova gpa, sim::PhysAddr hpa, uint64_t size) {
  FacadeCall c;
  c.call = Call::Map;
  c.id = hwpt;
  c.iova = gpa;
  c.pa = hpa;
  c.size = size;
  begin(c);
  if (!find(hwpt, ObjKind::HwptPaging)) return finish(c, Status::NoEnt);
  return finish(
      c, host_call([&] { return host_.map(hwpt, gpa, hpa, size, drv::kRead | drv::kWrite); }));
}

Status Iommufd::alloc_nested(uint32_t dev_id, uint32_t parent, const drv::S1Config& s1,
                             uint32_t* id) {
  FacadeCall c;
  c.call = Call::AllocNested;
  c.dev_id = dev_id;
  c.id = parent;
  c.s1 = s1;
  begin(c);
  if (!find(dev_id, ObjKind::Device)) return finish(c, Status::NoEnt);
  if (!exists(parent)) return finish(c, Status::NoEnt);
  if (!find(parent, ObjKind::HwptPaging)) return finish(c, Status::Inval);
  const uint32_t new_id = next_id();
  Status st = host_call([&] { return host_.domain_alloc_nested(new_id, parent, s1); });
  if (!drv::ok(st)) return finish(c, st);
  Object o;
  o.kind = ObjKind::HwptNested;
  o.parent = parent;
  objs_[new_id] = o;
  ++objs_[parent].children;
  c.out_id = *id = new_id;
  return finish(c, st);
}

Status Iommufd::attach(uint32_t dev_id, uint32_t pasid, uint32_t hwpt) {
  FacadeCall c;
  c.call = Call::Attach;
  c.dev_id = dev_id;
  c.pasid = pasid;
  c.id = hwpt;
  begin(c);
  const Object* dev = find(dev_id, ObjKind::Device);
  if (!dev || !exists(hwpt)) return finish(c, Status::NoEnt);
  if (objs_[hwpt].kind == ObjKind::Device) return finish(c, Status::Inval);
  const uint32_t cur = attached(dev_id, pasid);
  if (cur == hwpt) return finish(c, Status::Ok);
  const sim::Sid sid = dev->sid;
  Status st = host_call([&] {
    if (pasid) return host_.set_pasid(sid, pasid, hwpt);
    return cur ? host_.replace(sid, hwpt) : host_.attach(sid, hwpt);
  });
  if (!drv::ok(st)) return finish(c, st);
  if (cur) --objs_[cur].users;
  ++objs_[hwpt].users;
  att_[{dev_id, pasid}] = hwpt;
  return finish(c, st);
}

Status Iommufd::detach(uint32_t dev_id, uint32_t pasid) {
  FacadeCall c;
  c.call = Call::Detach;
  c.dev_id = dev_id;
  c.pasid = pasid;
  begin(c);
  const Object* dev = find(dev_id, ObjKind::Device);
  if (!dev) return finish(c, Status::NoEnt);
  const uint32_t cur = attached(dev_id, pasid);
  if (!cur) return finish(c, Status::Ok);
  const sim::Sid sid = dev->sid;
  Status st = host_call([&] { return pasid ? host_.remove_pasid(sid, pasid) : host_.detach(sid); });
  if (!drv::ok(st)) return finish(c, st);
  --objs_[cur].users;
  att_.erase({dev_id, pasid});
  return finish(c, st);
}

Status Iommufd::destroy(uint32_t id) {
  FacadeCall c;
  c.call = Call::Destroy;
  c.id = id;
  begin(c);
  auto it = objs_.find(id);
  if (it == objs_.end()) return finish(c, Status::NoEnt);
  Object& o = it->second;
  // A device stays bound while the VMM holds it (VFIO owns its object).
  if (o.kind == ObjKind::Device || o.users || o.children) return finish(c, Status::Busy);
  Status st = host_call([&] { return host_.domain_free(id); });
  if (!drv::ok(st)) return finish(c, st);
  if (o.kind == ObjKind::HwptNested) --objs_[o.parent].children;
  objs_.erase(it);
  return finish(c, st);
}

Status Iommufd::invalidate(uint32_t hwpt, sim::Iova iova, uint64_t size) {
  FacadeCall c;
  c.call = Call::Invalidate;
  c.id = hwpt;
  c.iova = iova;
  c.size = size;
  begin(c);
  if (!exists(hwpt)) return finish(c, Status::NoEnt);
  // Only a nested HWPT has a user-managed cache (cache_invalidate_user).
  if (!find(hwpt, ObjKind::HwptNested)) return finish(c, Status::OpNotSupp);
  return finish(c, host_call([&] { return host_.cache_invalidate_user(hwpt, iova, size); }));
}

}  // namespace vtd::vmm

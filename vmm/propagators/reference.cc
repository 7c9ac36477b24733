// reference (DESIGN.md section 13): seeds/003's propagation with what its
// review settled or left open done: IDs checked against 0 (Nicolin Chen's
// uAPI note), the old nested HWPT destroyed only once the new one is
// attached, pass-through never recorded as a nested HWPT, host failures
// reported to the guest ("TODO: Fault event injection into guest"), PGTTs
// the unit cannot run refused with a fault and the device blocked,
// bindings replayed on a context-cache invalidation, lines matched by the
// DID they were cached under.
#include "vmm/propagators/reference.h"

namespace vtd::vmm {

using drv::Status;
using sim::Descriptor;
using sim::Entry;
using sim::Field;

namespace {
uint32_t desc_pasid(const Descriptor& d) {
  return uint32_t(d.w[0] >> 32 & 0xfffff);  // PASID lo[51:32]
}
}  // namespace

void Reference::descriptor(VmmCtx& ctx, const Descriptor& d) {
  switch (d.type()) {
    case sim::kDescPasidCache:
      return pasid_cache(ctx, d);
    case sim::kDescContext:
      return context_cache(ctx, d);
    case sim::kDescIotlb:
    case sim::kDescPasidIotlb:
      return iotlb(ctx, d);
    default:
      return;  // device-TLBs: the host's invalidation of a nested HWPT covers them
  }
}

void Reference::pasid_cache(VmmCtx& ctx, const Descriptor& d) {
  if (!remapping_on(ctx)) return;  // bindings stay on the default HWPT
  Selector sel;
  switch (d.granularity()) {
    case 0:  // domain-selective
      sel.by_did = true;
      sel.did = d.did();
      break;
    case 1:  // PASID-selective, within the domain
      sel.by_did = sel.by_pasid = true;
      sel.did = d.did();
      sel.pasid = desc_pasid(d);
      break;
    default:  // global
      break;
  }
  for (const AssignedDevice& dev : ctx.devices()) {
    if (sel.by_pasid) {
      sync(ctx, dev, sel.pasid, sel);
      continue;
    }
    for (uint32_t pasid : pasids_of(ctx, dev)) sync(ctx, dev, pasid, sel);
  }
}

// A context-cache invalidation of a device: the guest may have made its
// context entry present after the PASID-cache invalidation of its PASIDs
// (DESIGN.md section 13: "guests that send the PASID-cache invalidation
// before the context-cache one"), so every binding is replayed.
void Reference::context_cache(VmmCtx& ctx, const Descriptor& d) {
  if (!remapping_on(ctx)) return;
  const uint64_t g = d.granularity();
  const uint16_t sid = uint16_t(d.w[0] >> 32), fm = uint16_t(d.w[0] >> 48 & 3);
  const uint16_t mask = uint16_t(((1u << fm) - 1) << (3 - fm));
  for (const AssignedDevice& dev : ctx.devices()) {
    // A scalable-mode context entry carries no DID: a domain-selective
    // invalidation reaches it under DID 0 only; a device-selective one by
    // source-id and function mask.
    const bool covered =
        g == 1 || (g == 2 && d.did() == 0) || (g == 3 && (dev.guest.v | mask) == (sid | mask));
    if (!covered) continue;
    for (uint32_t pasid : pasids_of(ctx, dev)) sync(ctx, dev, pasid, Selector{});
  }
}

// IOTLB and PASID-based IOTLB invalidations reach the nested HWPTs whose
// lines carry the DID (and PASID): the host flushes what it cached of the
// guest's first stage (IOMMU_HWPT_INVALIDATE).
void Reference::iotlb(VmmCtx& ctx, const Descriptor& d) {
  const bool piotlb = d.type() == sim::kDescPasidIotlb;
  const uint64_t g = d.granularity();
  const bool page = g == 3;
  const bool all = !piotlb && g == 1;
  const uint8_t am = uint8_t(d.w[1] & 0x3f);
  const uint64_t size = page && am < 52 ? sim::kPageSize << am : 0;
  const sim::Iova iova = size ? (d.w[1] & ~0xfffull) & ~(size - 1) : 0;
  for (const auto& [k, id] : fs_hwpt_) {
    if (!id) continue;
    auto line = cache_.find(k);
    if (!all) {
      if (line == cache_.end() || line->second.get(Field::DID) != d.did()) continue;
      if (piotlb && k.second != desc_pasid(d)) continue;
    }
    ctx.iommufd().invalidate(id, iova, size);
  }
}

std::set<uint32_t> Reference::pasids_of(VmmCtx& ctx, const AssignedDevice& dev) const {
  std::set<uint32_t> out = {0};
  for (uint32_t p : guest_pasids(ctx, dev.guest)) out.insert(p);
  for (const auto& [k, e] : cache_)
    if (k.first == dev.guest.v) out.insert(k.second);
  for (uint32_t p : ctx.iommufd().attached_pasids(dev.dev_id)) out.insert(p);
  return out;
}

uint16_t Reference::line_did(const Key& k, const Entry& guest) const {
  auto line = cache_.find(k);
  return uint16_t((line != cache_.end() ? line->second : guest).get(Field::DID));
}

void Reference::sync(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid, const Selector& sel) {
  const Key k = key(dev, pasid);
  Entry pe;
  const bool present = guest_pasid_entry(ctx, dev.guest, pasid, &pe) && pe.present();
  auto line = cache_.find(k);
  if (!present) {
    if (line == cache_.end()) {
      // Nothing cached: still bound only when an unbind failed; try again.
      if (ctx.iommufd().attached(dev.dev_id, pasid)) unbind(ctx, dev, pasid);
      return;
    }
    if (sel.by_did && line->second.get(Field::DID) != sel.did) return;
    cleared(ctx, dev, pasid);
    return;
  }
  // A line not cached (caching mode: a not-present one) is reached by its
  // PASID alone (oracle/scope.h has the same reading of spec 6.5.2.3).
  const bool fresh = line == cache_.end();
  if (sel.by_did && !(fresh && sel.by_pasid) && line_did(k, pe) != sel.did) return;
  if (!fresh && line->second == pe && !retry_.count(k)) return;  // unchanged
  cache_[k] = pe;
  keep(k, bind(ctx, dev, pasid, pe));
}

// A line whose host call failed stays cached under its DID: the guest
// that changes the entry in place invalidates with the old DID (spec
// 6.2.1), and only the cached line is reached by it (soak found the line
// erased and that invalidation lost: the device stayed blocked).
void Reference::keep(const Key& k, bool bound) {
  if (bound)
    retry_.erase(k);
  else
    retry_.insert(k);
}

void Reference::forget(const Key& k) {
  cache_.erase(k);
  retry_.erase(k);
}

void Reference::forget_all() {
  cache_.clear();
  retry_.clear();
}

void Reference::resync(VmmCtx& ctx, const AssignedDevice& dev) {
  for (uint32_t pasid : pasids_of(ctx, dev)) {
    const Key k = key(dev, pasid);
    forget(k);
    Entry pe;
    if (guest_pasid_entry(ctx, dev.guest, pasid, &pe) && pe.present()) {
      cache_[k] = pe;
      keep(k, bind(ctx, dev, pasid, pe));
    } else if (ctx.iommufd().attached(dev.dev_id, pasid)) {
      unbind(ctx, dev, pasid);
    }
  }
}

bool Reference::bind(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid, const Entry& pe) {
  const HostRequest r = request_of(pe);
  switch (r.kind) {
    case HostRequest::Parent:
      return bind_parent(ctx, dev, pasid);
    case HostRequest::Nested:
      return bind_nested(ctx, dev, pasid, r.s1);
    case HostRequest::Refused:
      return refuse(ctx, dev, pasid);
  }
  return false;
}

bool Reference::bind_parent(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid) {
  if (!drv::ok(attach(ctx, dev, pasid, dev.default_hwpt))) return host_failed(ctx, dev, pasid);
  destroy_old(ctx, key(dev, pasid));  // the parent is no nested HWPT: nothing recorded
  return true;
}

bool Reference::bind_nested(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid,
                            const drv::S1Config& s1) {
  uint32_t id = 0;
  if (!drv::ok(ctx.iommufd().alloc_nested(dev.dev_id, dev.default_hwpt, s1, &id)))
    return host_failed(ctx, dev, pasid);
  if (!drv::ok(attach(ctx, dev, pasid, id))) {
    ctx.iommufd().destroy(id);
    return host_failed(ctx, dev, pasid);
  }
  destroy_old(ctx, key(dev, pasid));
  fs_hwpt_[key(dev, pasid)] = id;
  return true;
}

bool Reference::refuse(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid) {
  // seeds/003: "Catch invalid PGTT when processing invalidation request to
  // avoid attaching to wrong hwpt"; the guest is told, the device blocked.
  const bool blocked = drv::ok(detach(ctx, dev, pasid));
  if (blocked) destroy_old(ctx, key(dev, pasid));
  ctx.report_fault(dev.guest, pasid, sim::FaultReason::PasidEntryInvalid);
  return blocked;
}

void Reference::cleared(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid) {
  forget(key(dev, pasid));
  unbind(ctx, dev, pasid);
}

void Reference::unbind(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid) {
  if (!drv::ok(detach(ctx, dev, pasid))) {
    host_failed(ctx, dev, pasid);
    return;
  }
  destroy_old(ctx, key(dev, pasid));
}

void Reference::to_default(VmmCtx& ctx, const AssignedDevice& dev) {
  for (uint32_t pasid : pasids_of(ctx, dev)) {
    const Key k = key(dev, pasid);
    forget(k);
    if (pasid == 0) {
      if (drv::ok(attach(ctx, dev, 0, dev.default_hwpt)))
        destroy_old(ctx, k);
      else
        host_failed(ctx, dev, 0);
    } else if (ctx.iommufd().attached(dev.dev_id, pasid)) {
      unbind(ctx, dev, pasid);
    }
  }
}

bool Reference::host_failed(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid) {
  ctx.report_fault(dev.guest, pasid, sim::FaultReason::PasidEntryInvalid);
  return false;
}

void Reference::destroy_old(VmmCtx& ctx, const Key& k) {
  auto it = fs_hwpt_.find(k);
  if (it == fs_hwpt_.end() || it->second == 0) return;  // ID 0 names nothing
  const uint32_t id = it->second;
  fs_hwpt_.erase(it);
  ctx.iommufd().destroy(id);
}

Status Reference::attach(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid, uint32_t hwpt) {
  return ctx.iommufd().attach(dev.dev_id, pasid, hwpt);
}

Status Reference::detach(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid) {
  return ctx.iommufd().detach(dev.dev_id, pasid);
}

void Reference::remapping(VmmCtx& ctx) {
  for (const AssignedDevice& dev : ctx.devices()) {
    if (remapping_on(ctx))
      resync(ctx, dev);  // nothing is cached yet: every entry counts as it is now
    else
      to_default(ctx, dev);
  }
}

void Reference::reset(VmmCtx& ctx) {
  for (const AssignedDevice& dev : ctx.devices()) to_default(ctx, dev);
  forget_all();
}

VTDFUZZ_REGISTER_PROPAGATOR(Reference, "reference",
                            "DESIGN.md section 13: bind, replace, unbind, reset; default HWPT when "
                            "remapping is off; refused PGTTs and host failures reported",
                            "", "clean");

}  // namespace vtd::vmm

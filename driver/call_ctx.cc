// Driver::Ctx: what the shared machinery gives a writer (and the page
// tables) during one call.
#include "driver/driver_impl.h"
#include "driver/invalidation.h"

namespace vtd::drv {

Driver::Ctx::~Ctx() {
  if (spare_) d_.dids_.free(spare_);
}

bool Driver::Ctx::reserve_spare() {
  if (spare_) return true;
  if (!d_.may_alloc()) return false;
  spare_ = d_.dids_.alloc();
  return spare_ != 0;
}

std::vector<sim::Descriptor> Driver::Ctx::inv_entry_cache(uint16_t did) {
  return inv::entry_cache(at.kind, at.sid, at.pasid, did);
}

std::vector<sim::Descriptor> Driver::Ctx::inv_iotlb(const sim::Entry& e) {
  return inv::iotlb(e, at.pasid);
}

std::vector<sim::Descriptor> Driver::Ctx::inv_devtlb() {
  if (!dev) return {};
  return inv::devtlb(at.sid, at.pasid, dev->caps.ats, dev->gone);
}

Status Driver::Ctx::submit(const std::vector<sim::Descriptor>& batch) {
  return d_.qi_.submit(cpu(), batch);
}

uint16_t Driver::Ctx::alloc_did() {
  if (!spare_ || taken_) return 0;
  taken_ = true;
  return spare_;
}

void Driver::Ctx::free_did(uint16_t did) {
  if (did == spare_)
    taken_ = false;
  else
    d_.dids_.free(did);
}

void Driver::Ctx::publish(sim::PhysAddr slot, uint64_t value) {
  d_.writer_.publish_table(*this, slot, value);
}

// The cache tags of the device and PASID under change on the old or new
// domain (and, for a nested domain, on its parent), each edited under the
// domain's cache lock.
void Driver::Ctx::tags(Side s, uint16_t did, bool add) {
  Domain* dom = s == Side::Old ? from : to;
  if (!dom || !did || !dom->has_tables() || !dev) return;
  uint32_t pasid = at.pasid == sim::kNoPasid ? kRidPasid : at.pasid;
  auto edit = [&](Domain& where, const CacheTag& t) {
    cpu().lock(lock_id(LockClass::Cache, where.id));
    if (add)
      where.tags.add(t);
    else
      where.tags.remove(t);
    if (d_.observer_) d_.observer_->on_cache_tag(where.id, t, add);
    cpu().unlock(lock_id(LockClass::Cache, where.id));
  };
  edit(*dom, {CacheTag::Kind::Iotlb, did, dev->sid, pasid, dom->first_stage()});
  if (dev->caps.ats) edit(*dom, {CacheTag::Kind::DevTlb, 0, dev->sid, pasid, false});
  if (dom->type == DomainType::Nested) {
    // An unmap on the parent changes what nested translations give.
    Domain* parent = d_.domain(dom->parent);
    if (!parent) return;
    edit(*parent, {CacheTag::Kind::NestingIotlb, did, dev->sid, pasid, true});
    if (dev->caps.ats) edit(*parent, {CacheTag::Kind::NestingDevTlb, 0, dev->sid, pasid, false});
  }
}

}  // namespace vtd::drv

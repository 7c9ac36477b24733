// reference: the propagator DESIGN.md section 13 describes, seeds/003 with
// its review comments and open TODOs settled. The catalog propagators
// (B29-B37) are this one with one step changed; each overrides one hook.
#pragma once

#include <map>
#include <set>
#include <utility>

#include "simulator/formats.h"
#include "vmm/guest_tables.h"
#include "vmm/propagator.h"

namespace vtd::vmm {

class Reference : public Propagator {
 public:
  void descriptor(VmmCtx& ctx, const sim::Descriptor& d) override;
  void remapping(VmmCtx& ctx) override;
  void reset(VmmCtx& ctx) override;

 protected:
  using Key = std::pair<uint16_t, uint32_t>;  // (guest BDF, PASID)
  static Key key(const AssignedDevice& d, uint32_t pasid) { return {d.guest.v, pasid}; }

  // Which cached lines a PASID-cache descriptor reaches (spec 6.5.2.3).
  struct Selector {
    bool by_did = false;
    uint16_t did = 0;
    bool by_pasid = false;
    uint32_t pasid = 0;
  };

  // The descriptor types the VMM acts on.
  virtual void pasid_cache(VmmCtx& ctx, const sim::Descriptor& d);
  virtual void context_cache(VmmCtx& ctx, const sim::Descriptor& d);
  virtual void iotlb(VmmCtx& ctx, const sim::Descriptor& d);

  // One (device, PASID) against the guest's entry, when `sel` covers it:
  // unbind when the entry went away, bind when it is new or changed.
  virtual void sync(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid, const Selector& sel);
  // The DID a selector matches: the one the line was cached under (spec
  // 6.2.1: invalidating with the new DID does not reach a line cached
  // under the old), the guest entry's when nothing is cached.
  virtual uint16_t line_did(const Key& k, const sim::Entry& guest) const;
  // Every PASID of the device follows its entry again (nothing cached).
  void resync(VmmCtx& ctx, const AssignedDevice& dev);

  // What the host gets for a present entry: the parent (pass-through), a
  // nested HWPT (first-stage), or nothing and a fault (any other PGTT).
  // False when a host call failed (the guest was told): the line stays
  // cached (keep), and the next invalidation that reaches it tries again.
  virtual bool bind(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid, const sim::Entry& pe);
  virtual bool bind_parent(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid);
  // Allocate, attach, and only then destroy the old nested HWPT.
  virtual bool bind_nested(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid,
                           const drv::S1Config& s1);
  virtual bool refuse(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid);
  // The guest cleared an entry it had cached: its line goes, and the host
  // binding with it (unbind).
  virtual void cleared(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid);
  // The entry is not present: blocked.
  virtual void unbind(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid);
  // Remapping off or legacy: requests without PASID fall back to the
  // default HWPT (seeds/003, vtd_device_detach_iommufd), PASIDs are blocked.
  virtual void to_default(VmmCtx& ctx, const AssignedDevice& dev);
  // A host call failed: the guest hears of it (fault recording). Returns
  // false for bind's callers.
  virtual bool host_failed(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid);
  // Destroys the (device, PASID)'s nested HWPT, if it has one.
  virtual void destroy_old(VmmCtx& ctx, const Key& k);

  drv::Status attach(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid, uint32_t hwpt);
  drv::Status detach(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid);
  // PASIDs of the device worth a look: cached, bound, or present in the
  // guest's tables now.
  std::set<uint32_t> pasids_of(VmmCtx& ctx, const AssignedDevice& dev) const;
  static bool remapping_on(VmmCtx& ctx) { return ctx.dmar_enabled() && ctx.scalable(); }

  // The virtual PASID cache: the guest entry as last synced, present
  // entries only (QEMU's VTDPASIDCacheEntry).
  std::map<Key, sim::Entry> cache_;
  // Cached lines whose host call failed: bound again even when unchanged.
  std::set<Key> retry_;
  void keep(const Key& k, bool bound);
  // A line goes from the virtual PASID cache (and its retry mark with it).
  void forget(const Key& k);
  void forget_all();
  // The nested HWPT of each (device, PASID); 0 or absent: none (QEMU's
  // fs_hwpt).
  std::map<Key, uint32_t> fs_hwpt_;
};

}  // namespace vtd::vmm

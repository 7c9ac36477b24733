// B30 destroy-before-attach: a replace destroys the old nested HWPT before
// the new one is attached (seeds/003 destroys it after a successful
// attach: "Destroy old fs_hwpt if it's a replacement"). The old HWPT is
// still attached when it is destroyed: iommufd refuses (-EBUSY) and the
// VMM forgets it.
#include "vmm/propagators/reference.h"

namespace vtd::vmm {

class DestroyBeforeAttach : public Reference {
 protected:
  bool bind_nested(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid,
                   const drv::S1Config& s1) override {
    destroy_old(ctx, key(dev, pasid));  // too early: the old one is still attached
    uint32_t id = 0;
    if (!drv::ok(ctx.iommufd().alloc_nested(dev.dev_id, dev.default_hwpt, s1, &id)))
      return host_failed(ctx, dev, pasid);
    if (!drv::ok(attach(ctx, dev, pasid, id))) {
      ctx.iommufd().destroy(id);
      return host_failed(ctx, dev, pasid);
    }
    fs_hwpt_[key(dev, pasid)] = id;
    return true;
  }
};

VTDFUZZ_REGISTER_PROPAGATOR(DestroyBeforeAttach, "destroy-before-attach",
                            "old nested HWPT destroyed before the new one is attached", "B30",
                            "P15|P14");

}  // namespace vtd::vmm

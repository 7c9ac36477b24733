// B36 reset-blocks: with remapping off (or a legacy root table) the device
// is detached, not moved to the default HWPT, so guest DMA stops; and a
// reset drops the virtual PASID cache but keeps every nested HWPT
// attached. seeds/003, vtd_device_detach_iommufd: "If DMAR remapping is
// disabled or guest switches to legacy mode, we fallback to the default
// HWPT which contains shadow page table. So guest DMA could still work."
#include "vmm/propagators/reference.h"

namespace vtd::vmm {

class ResetBlocks : public Reference {
 protected:
  void to_default(VmmCtx& ctx, const AssignedDevice& dev) override {
    for (uint32_t pasid : pasids_of(ctx, dev)) {
      forget(key(dev, pasid));
      if (ctx.iommufd().attached(dev.dev_id, pasid)) unbind(ctx, dev, pasid);
    }
  }

 public:
  void reset(VmmCtx& ctx) override {
    (void)ctx;
    forget_all();  // the host bindings stay as they were
  }
};

VTDFUZZ_REGISTER_PROPAGATOR(ResetBlocks, "reset-blocks",
                            "remapping off blocks the device; reset keeps the nested HWPT", "B36",
                            "P13|P14");

}  // namespace vtd::vmm

// B31 pt-as-nested: a pass-through binding is recorded as the (device,
// PASID)'s nested HWPT, so the next unbind or replace destroys the nesting
// parent. seeds/003 records fs_hwpt only "if (vtd_pe_pgtt_is_fst(pe))";
// without that test hwpt_id (idev->hwpt_id for PGTT=PT) lands there.
#include "vmm/propagators/reference.h"

namespace vtd::vmm {

class PtAsNested : public Reference {
 protected:
  bool bind_parent(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid) override {
    if (!Reference::bind_parent(ctx, dev, pasid)) return false;
    fs_hwpt_[key(dev, pasid)] = dev.default_hwpt;
    return true;
  }
};

VTDFUZZ_REGISTER_PROPAGATOR(PtAsNested, "pt-as-nested",
                            "pass-through binding recorded as the nested HWPT; unbind destroys "
                            "the parent",
                            "B31", "P15|P13");

}  // namespace vtd::vmm

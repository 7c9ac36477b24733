// B32 no-id0-guard: the old nested HWPT is destroyed without checking for
// "none" (seeds/003, vtd_destroy_old_fs_hwpt without its
// "if (!vtd_as->fs_hwpt) return;"; Eric Auger: "is it a valid assumption a
// valid ID cannot be null?"). A first bind destroys ID 0.
#include "vmm/propagators/reference.h"

namespace vtd::vmm {

class NoId0Guard : public Reference {
 protected:
  void destroy_old(VmmCtx& ctx, const Key& k) override {
    const uint32_t id = fs_hwpt_[k];  // 0 when there is none: destroyed all the same
    fs_hwpt_.erase(k);
    ctx.iommufd().destroy(id);
  }
};

VTDFUZZ_REGISTER_PROPAGATOR(NoId0Guard, "no-id0-guard",
                            "old nested HWPT destroyed without a guard for ID 0", "B32", "P15");

}  // namespace vtd::vmm

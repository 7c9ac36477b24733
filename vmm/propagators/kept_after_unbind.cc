// B29 kept-after-unbind: the guest cleared P and invalidated its PASID
// cache; the VMM drops its cached line but leaves the host binding alone,
// as intel_iommu did before seeds/003 ("- return;" in
// vtd_pasid_cache_sync_locked's not-present branch: the address space is
// switched, the HWPT stays attached). The device keeps translating through
// the guest's old first stage.
#include "vmm/propagators/reference.h"

namespace vtd::vmm {

class KeptAfterUnbind : public Reference {
 protected:
  void cleared(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid) override {
    (void)ctx;
    forget(key(dev, pasid));  // the line goes; the host binding stays
  }
};

VTDFUZZ_REGISTER_PROPAGATOR(KeptAfterUnbind, "kept-after-unbind",
                            "PASID cache invalidated after the guest cleared P, host stays bound",
                            "B29", "P13|P14");

}  // namespace vtd::vmm

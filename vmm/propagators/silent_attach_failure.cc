// B35 silent-attach-failure: a host call fails (the host unit cannot run
// the guest's first stage, or an allocation fails) and the VMM keeps the
// old binding without telling the guest: seeds/003's
// "TODO: Fault event injection into guest, report error to QEMU for now".
#include "vmm/propagators/reference.h"

namespace vtd::vmm {

class SilentAttachFailure : public Reference {
 protected:
  bool host_failed(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid) override {
    (void)ctx;
    (void)dev;
    (void)pasid;  // error_reportf_err(): QEMU's log, not the guest
    return false;
  }
};

VTDFUZZ_REGISTER_PROPAGATOR(SilentAttachFailure, "silent-attach-failure",
                            "host attach fails; the old binding is kept and nothing is reported",
                            "B35", "P16");

}  // namespace vtd::vmm

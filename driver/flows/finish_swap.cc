// B26: finish acts on the restore path: the devices still on their restored
// domain are moved off it (blocked, as if released without a reset) before
// user space attached its own domain (seeds/002: "No, finish should never
// do anything on the restore path ... it needs a FLR before the domains can
// be switched around"). Their DMA faults (P9).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class FinishSwap final : public LuFlow {
 public:
  Status finish(LuCtx& c) override {
    std::vector<LuDomain> doms = c.domains();
    for (const LuDevice& v : c.devices())
      for (const LuDomain& d : doms)
        if (d.preserved && v.domain == d.id) c.detach(v.sid);
    return Status::Ok;
  }
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::FinishSwap, "finish-swap",
                         "finish moves devices off their restored domain", "B26", "P9");

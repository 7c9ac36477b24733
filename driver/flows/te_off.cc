// B16: the shutdown disables translation, as a normal shutdown does (seeds/
// 004: "During normal shutdown the iommu translation is disabled"). From
// then on the preserved devices' DMA is not remapped: the IOVA is used as
// the physical address (P9; a write lands elsewhere: P8), and an
// unpreserved device is no longer isolated: its DMA does not fault (P12).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class TeOff final : public LuFlow {
 protected:
  void leave_translation(LuCtx& c) override { c.set_translation(false); }
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::TeOff, "te-off", "the shutdown clears GCMD.TE", "B16",
                         "P9|P8|P12");

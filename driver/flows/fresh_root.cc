// B15: the new kernel's IOMMU init allocates a fresh root table and programs
// the root register, as a cold boot does, instead of taking over the one the
// hardware uses (seeds/002: "When the iommu driver first starts up it can
// take over the context memory from the predecessor kernel"). The preserved
// devices' DMA faults from the SRTP on: P9.
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class FreshRoot final : public LuFlow {
 protected:
  Status take_root(LuCtx& c, const KhoState&) override { return c.fresh_root(); }
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::FreshRoot, "fresh-root",
                         "restore allocates a new root table and writes the root register", "B15",
                         "P9");

// B18: the shutdown clears the unpreserved devices' entries but never
// invalidates: the context, PASID and IOTLB caches keep what the cleared
// entries held, and the devices keep hitting it (P4, P12).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class ClearNoFlush final : public LuFlow {
 protected:
  Status flush_all(LuCtx&) override { return Status::Ok; }
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::ClearNoFlush, "clear-no-flush",
                         "entries cleared at shutdown without the global invalidation", "B18",
                         "P4|P12");

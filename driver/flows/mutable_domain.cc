// B25: map and unmap stay allowed on a preserved domain (DESIGN.md section
// 12: "the domain made immutable"). A map that needs a new page-table page
// links a page nobody preserved into a preserved device's tables (P10); it
// is freed at kexec and the hardware reads it (P6).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class MutableDomain final : public LuFlow {
 public:
  bool frozen() const override { return false; }
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::MutableDomain, "mutable-domain",
                         "map/unmap allowed on a preserved domain", "B25", "P10|P6");

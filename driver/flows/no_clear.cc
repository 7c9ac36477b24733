// B17: the shutdown leaves the context entries of unpreserved devices as
// they are (seeds/002: "it has to go through it and clear out most of the
// context entries"). After kexec those entries point into pages the new
// kernel frees and reuses: the device still translates (P12) or the
// hardware reads a freed page (P6).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class NoClear final : public LuFlow {
 protected:
  void clear_unpreserved(LuCtx&) override {}
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::NoClear, "no-clear",
                         "unpreserved devices' context entries not cleared at shutdown", "B17",
                         "P12|P6");

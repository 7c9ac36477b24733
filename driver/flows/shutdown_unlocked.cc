// B27: the shutdown's cleanup takes no lock against probe and attach
// (seeds/004: "the system is quiescent and hotplug is disabled, so there are
// no races with concurrent probe or release operations" - an assumption,
// not a lock). It clears the entries of the devices it listed; a device a
// second CPU attaches meanwhile keeps its entry across the kexec (P12), and
// a context table allocated for it is reachable but not preserved (P10).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class ShutdownUnlocked final : public LuFlow {
 protected:
  void quiesce(LuCtx&) override {}
  void unquiesce(LuCtx&) override {}
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::ShutdownUnlocked, "shutdown-unlocked",
                         "shutdown's cleanup races probe and attach on a second CPU", "B27",
                         "P12|P10");

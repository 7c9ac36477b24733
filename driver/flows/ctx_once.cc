// B19: the context tables are preserved once, when the first device is
// (the IOMMU's preservation in seeds/004), and not tracked afterwards: "Lets
// say device A is preserved and the associated iommu is also preserved. And
// then a new device B is hotplugged and preserved, then the context table
// for that will be missed. Since we don't track the context_tables that are
// preserved, there is no way to incremently preserve the new-ones." A VF
// created after the first preserve lands on a new bus: its context table is
// reachable from a preserved device and freed at kexec (P10).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class CtxOnce final : public LuFlow {
 protected:
  void preserve_tables(LuCtx& c, const LuDevice&) override {
    if (done_) return;
    done_ = true;
    c.cpu().kho_preserve(c.root_table(), true);
    for (const LuContextTable& t : c.context_tables()) c.cpu().kho_preserve(t.pa, true);
  }
  void unpreserve_tables(LuCtx&, const LuDevice&) override {}

 private:
  bool done_ = false;
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::CtxOnce, "ctx-once",
                         "context tables preserved once, at the first preserve: later devices "
                         "and VFs missed",
                         "B19", "P10");

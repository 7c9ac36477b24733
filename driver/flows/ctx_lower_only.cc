// B20: only the lower context table of a bus is preserved. In scalable mode
// a bus has two (LCTP for devfn 0-0x7f, UCTP for 0x80-0xff; seeds/004's
// unpreserve walks both: iommu_context_addr(iommu, i, 0x80, 0)); a preserved
// device at devfn >= 0x80 is left with a context table freed at kexec (P10).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class CtxLowerOnly final : public LuFlow {
 protected:
  void preserve_tables(LuCtx& c, const LuDevice& d) override {
    keep(c, c.root_table());
    for (const LuContextTable& t : c.context_tables())
      if (t.bus == d.sid.bus() && !t.upper) keep(c, t.pa);
  }
  void unpreserve_tables(LuCtx& c, const LuDevice& d) override {
    for (const LuContextTable& t : c.context_tables())
      if (t.bus == d.sid.bus() && !t.upper) drop(c, t.pa);
    drop(c, c.root_table());
  }
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::CtxLowerOnly, "ctx-lower-only",
                         "only the lower context table of a bus preserved (devfn >= 0x80 missed)",
                         "B20", "P10");

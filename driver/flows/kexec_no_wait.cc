// B28: the shutdown queues its global invalidation and moves the tail but
// does not wait for it. Nothing makes the hardware process it before the
// kexec, and the new kernel's queue replaces it: the caches keep what the
// cleared entries held (P4), and a DMA hits it (P2).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class KexecNoWait final : public LuFlow {
 protected:
  Status flush_all(LuCtx& c) override {
    std::vector<sim::Sid> devtlb;
    for (const LuDevice& v : c.devices())
      if (!v.preserved && v.ats && !v.gone) devtlb.push_back(v.sid);
    return c.invalidate_all(devtlb, false);
  }
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::KexecNoWait, "kexec-no-wait",
                         "kexec with the global invalidation queued and not waited for", "B28",
                         "P4|P2");

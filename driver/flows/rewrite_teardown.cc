// B22: at a preserved device's probe the new kernel rewrites its entry by
// teardown and setup (P cleared, flushed, invalidated, then written back
// with P last) instead of leaving it or rewriting it identically (seeds/002:
// "This should 'rewrite' the IOMMU HW context for that device with identical
// content. Drivers must be enhanced to support this hitless rewrite"). The
// device's DMA faults in between (P9).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class RewriteTeardown final : public LuFlow {
 protected:
  Status keep_entry(LuCtx& c, sim::Sid sid) override {
    const EntryRef at = c.rid_entry(sid);
    if (!at.pa) return Status::NoDev;
    const sim::Entry now = c.read_entry(at), want = c.target_entry(sid);
    const size_t words = sim::format_of(at.kind).words;
    c.cpu().write64_once(at.pa, now.w[0] & ~1ull);  // P = 0
    c.flush_cpu_cache(at.pa, 8);
    Status s = c.submit(c.entry_invalidations(at, now));
    for (size_t i = 1; i < words; ++i) c.cpu().write64(at.pa + 8 * i, want.w[i]);
    c.cpu().dma_wmb();
    c.cpu().write64_once(at.pa, want.w[0]);  // P = 1 last
    c.flush_cpu_cache(at.pa, 8 * words);
    return s;
  }
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::RewriteTeardown, "rewrite-teardown",
                         "restore rewrites the preserved entry by teardown + setup", "B22", "P9");

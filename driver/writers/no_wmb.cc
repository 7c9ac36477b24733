// no-wmb (B11): a new table is linked into its parent with a plain store
// and no barrier: the pointer may become visible before the contents.
#include "driver/writers/entry_sync.h"

namespace vtd::drv {

class NoWmb : public EntrySync {
 public:
  void publish_table(WriterCtx& ctx, sim::PhysAddr slot, uint64_t value) override {
    ctx.cpu().write64(slot, value);
    ctx.flush_cpu_cache(slot, 8);
  }
};

VTDFUZZ_REGISTER_WRITER(NoWmb, "no-wmb", "B11: new table published without dma_wmb()", "B11", "P6");

}  // namespace vtd::drv

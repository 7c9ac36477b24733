// early-free (B14): an unmap frees the emptied page-table pages before the
// IOTLB / paging-structure flush.
#include "driver/writers/entry_sync.h"

namespace vtd::drv {

class EarlyFree : public EntrySync {
 public:
  Status unmap_flush(WriterCtx& ctx, const UnmapFlush& f) override {
    for (sim::PhysAddr p : f.free_pages) ctx.free_page(p);
    std::vector<sim::Descriptor> batch = f.iotlb;
    batch.insert(batch.end(), f.devtlb.begin(), f.devtlb.end());
    return ctx.submit(batch);
  }
};

VTDFUZZ_REGISTER_WRITER(EarlyFree, "early-free",
                        "B14: page-table pages freed before the IOTLB/paging-structure flush",
                        "B14", "P6");

}  // namespace vtd::drv

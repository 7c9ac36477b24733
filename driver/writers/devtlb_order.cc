// devtlb-order (B13): an unmap invalidates the device-TLB before the IOTLB;
// a device refilling in between gets the stale IOTLB entry back.
#include "driver/writers/entry_sync.h"

namespace vtd::drv {

class DevTlbOrder : public EntrySync {
 public:
  Status unmap_flush(WriterCtx& ctx, const UnmapFlush& f) override {
    std::vector<sim::Descriptor> batch = f.devtlb;
    batch.insert(batch.end(), f.iotlb.begin(), f.iotlb.end());
    Status s = ctx.submit(batch);
    for (sim::PhysAddr p : f.free_pages) ctx.free_page(p);
    return s;
  }
};

VTDFUZZ_REGISTER_WRITER(DevTlbOrder, "devtlb-order",
                        "B13: unmap invalidates the device-TLB before the IOTLB", "B13", "P4");

}  // namespace vtd::drv

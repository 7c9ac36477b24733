// did-reuse-noflush (B12): the teardown skips the IOTLB invalidation "since
// the DID is released anyway" — but the DID allocator hands it to the next
// domain without any flush.
#include "driver/writers/entry_sync.h"

namespace vtd::drv {

class DidReuseNoFlush : public EntrySync {
 protected:
  std::vector<sim::Descriptor> iotlb_after_teardown(WriterCtx&, const sim::Entry&) override {
    return {};
  }
};

VTDFUZZ_REGISTER_WRITER(DidReuseNoFlush, "did-reuse-noflush",
                        "B12: teardown leaves the IOTLB to the DID release, which does not flush",
                        "B12", "P5");

}  // namespace vtd::drv

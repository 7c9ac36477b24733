// no-pasid-flush (B8): the PASID cache is never invalidated after a PASID
// entry changes; only the IOTLB and device-TLB are.
#include "driver/writers/entry_sync.h"

namespace vtd::drv {

class NoPasidFlush : public EntrySync {
 protected:
  std::vector<sim::Descriptor> entry_cache(WriterCtx& ctx, uint16_t did) override {
    return ctx.inv_entry_cache(did)[0].type() == sim::kDescPasidCache
               ? std::vector<sim::Descriptor>{}
               : ctx.inv_entry_cache(did);
  }
};

VTDFUZZ_REGISTER_WRITER(NoPasidFlush, "no-pasid-flush",
                        "B8: PASID-cache not invalidated after a PASID entry change", "B8", "P4");

}  // namespace vtd::drv

// B21: the new kernel reclaims a preserved DID only when the device using
// it is probed, not at IOMMU init. In between, a domain the new kernel
// attaches gets that DID from the allocator while the preserved entry still
// carries it (P11), and both fill the IOTLB under it (P5).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class DidAtProbe final : public LuFlow {
 protected:
  void reclaim_dids(LuCtx&, const KhoState&) override {}
  Status reclaim_at_probe(LuCtx& c, sim::Sid sid) override {
    for (const KhoState::Dev& v : restored_.devs)
      if (v.sid == sid)
        for (const KhoState::Dom& d : restored_.doms)
          if (d.id == v.dom && d.did) c.reserve_did(d.did);
    return Status::Ok;
  }
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::DidAtProbe, "did-at-probe",
                         "preserved DIDs reclaimed at probe instead of at IOMMU init", "B21",
                         "P11|P5");

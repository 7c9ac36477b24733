// Which invalidation descriptors an entry change needs (spec 6.5.3.3,
// VTD-REFERENCE.md "What software must do"), in one place: the driver's
// WriterCtx (driver_impl.h) answers a writer's inv_* calls with these, and
// any other WriterCtx (the transition checker's recording one) can too.
// Pure functions of the entry's place, its value and the device's facts.
#pragma once

#include <cstdint>
#include <vector>

#include "simulator/descriptors.h"
#include "simulator/formats.h"
#include "simulator/types.h"

namespace vtd::drv::inv {

// The context- or PASID-cache line of the entry of `kind` for (sid, pasid),
// cached under `did`: device-selective context-cache for a legacy context
// entry (the old DID), device-selective with DID 0 for a scalable-mode
// context entry (it holds no DID: the SID selects), PASID-selective
// PASID-cache otherwise (invalidating with the new DID does not drop a line
// cached under the old one, spec 6.2.1).
std::vector<sim::Descriptor> entry_cache(sim::EntryKind kind, sim::Sid sid, uint32_t pasid,
                                         uint16_t did);

// The translations cached through entry value `e` (tagged by its DID):
// domain-selective IOTLB for a legacy context entry and for second-stage
// and nested PASID entries, PASID-based IOTLB for first-stage and
// pass-through PASID entries. Nothing for a not-present entry or a
// scalable-mode context entry.
std::vector<sim::Descriptor> iotlb(const sim::Entry& e, uint32_t pasid);

// The device-TLB of (sid, pasid): everything for requests without PASID
// (RID_PASID or legacy), PASID-based otherwise. Nothing without ATS or when
// the device is gone (it would never answer: ITE).
std::vector<sim::Descriptor> devtlb(sim::Sid sid, uint32_t pasid, bool ats, bool gone);

}  // namespace vtd::drv::inv

// The guest's translation structures read the way the VMM reads them
// (QEMU's vtd_dev_get_pe_from_pasid): from the virtual unit's RTADDR
// through the guest's scalable-mode root, context entry and PASID
// directory to the PASID entry, in guest memory as it is now. Shared by
// the propagators; the oracle has its own reading (oracle/reference.h).
#pragma once

#include <cstdint>
#include <vector>

#include "driver/driver.h"
#include "simulator/formats.h"
#include "vmm/propagator.h"

namespace vtd::vmm {

// The guest's PASID entry of (sid, pasid); false when the way to it is not
// present (root, context, directory entry) or the root table is
// not in scalable mode. The entry itself may be not present.
bool guest_pasid_entry(VmmCtx& ctx, sim::Sid sid, uint32_t pasid, sim::Entry* out);

// The PASIDs of `sid` whose entries are present in the guest's tables now,
// ascending.
std::vector<uint32_t> guest_pasids(VmmCtx& ctx, sim::Sid sid);

// What a present guest PASID entry asks of the host. An accelerated
// virtual unit runs first-stage only (x-flts=on): pass-through binds the
// nesting parent, first-stage a nested HWPT from FSPTPTR, the address width
// FSPM selects and SRE, WPE, EAFE (seeds/003, vtd_create_fs_hwpt); any other
// PGTT, or a reserved FSPM, is refused.
struct HostRequest {
  enum Kind : uint8_t { Parent, Nested, Refused } kind = Refused;
  drv::S1Config s1;
};
HostRequest request_of(const sim::Entry& pe);

}  // namespace vtd::vmm

// Reference reads of the hardware-visible translation structures: what the
// walker would fetch right now, without caches, events or side effects. The
// oracle uses them to learn the old and new value of an entry (it never
// looks at the writer's private state).
#pragma once

#include <cstdint>

#include "simulator/formats.h"
#include "simulator/memory.h"
#include "simulator/types.h"

namespace vtd::oracle {

struct EntryLoc {
  sim::EntryKind kind = sim::EntryKind::LegacyContext;
  sim::PhysAddr pa = 0;  // 0: unreachable
};

// Where the root entry for `sid`'s bus, its context entry and (scalable)
// the PASID entry used by requests of `sid` with `pasid` (kNoPasid:
// RID_PASID) live, following the hardware-visible tables from RTADDR.
struct Located {
  EntryLoc root;
  EntryLoc context;
  EntryLoc pasid;  // scalable only
};
Located locate(const sim::PhysMemory& mem, uint64_t rtaddr, sim::Sid sid, uint32_t pasid);

// An entry's words as the hardware sees them now / saw them when the
// current epoch began.
sim::Entry read_now(const sim::PhysMemory& mem, const EntryLoc& at);
sim::Entry read_epoch(const sim::PhysMemory& mem, const EntryLoc& at);

}  // namespace vtd::oracle

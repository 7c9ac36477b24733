// The result of a translation, as the IOTLB and device-TLB cache it.
#pragma once

#include <cstdint>

#include "simulator/types.h"

namespace vtd::sim {

struct Translation {
  FaultReason fault = FaultReason::None;
  PhysAddr pa = 0;    // output address of the requested IOVA
  uint8_t level = 1;  // page size: 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB
  bool writable = false;
  // Tag and source: what the IOTLB is tagged by (spec 6.2.1) and where the
  // translation came from (the oracle's P5 compares sources under one tag).
  uint16_t did = 0;
  uint32_t pasid_tag = kNoPasid;  // PASID for first-stage/nested; none for second-stage
  uint8_t pgtt = 0;               // 1 first, 2 second, 3 nested, 4 pass-through
  PhysAddr root = 0;              // FSPTPTR / SSPTPTR the walk started from
  bool fpd = false;               // fault processing disabled
  bool ats = false;               // the context allows device-TLB (TT=1 / DTE=1)
  bool from_iotlb = false;

  bool ok() const { return fault == FaultReason::None; }
};

}  // namespace vtd::sim

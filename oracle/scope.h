// The oracle's own reading of VTD-REFERENCE.md's descriptor table ("Invalidation
// queue descriptors" and "Tagging of cached translations", spec 6.5.2 and
// 6.2.1), written field by field and apart from simulator/invq.cc, so that
// the two readings can disagree: which cached lines a descriptor removes,
// and whether hardware accepts it (IQE). The queue target judges the
// simulator's queue by it; the transition checker judges a writer's
// flushes by it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "simulator/caches.h"
#include "simulator/descriptors.h"

namespace vtd::oracle {

// Descriptor fields the reference reads (VTD-REFERENCE.md names).
enum DescField : uint8_t {
  G,
  DW,
  DR,
  DID,
  CSID,  // context-cache and device-TLB descriptors: the source-id
  FM,
  PSID,  // PASID-based device-TLB: the source-id
  PASID,
  AM,
  IH,
  ADDR,
  S,
  PS,
  PG,
  IF,
  SW,
  FN,
  DATA,
  STATUS,
  kDescFields
};
uint64_t field(const sim::Descriptor& d, DescField f);

// The G values a descriptor type accepts, as a bit mask (0: no G field).
uint8_t valid_granularities(uint8_t type);
// Why hardware rejects the descriptor (IQE), or nullptr.
const char* malformed(const sim::Descriptor& d, bool dw256);

// One cached line, whatever the cache: the tag fields the descriptors
// select on (spec 6.2.1).
struct CachedLine {
  sim::CacheKind cache;
  uint16_t sid = 0;  // context, PASID cache, device-TLB
  uint32_t pasid = sim::kNoPasid;
  uint16_t did = 0;
  uint8_t level = 0;  // IOTLB, paging-structure cache, device-TLB
  sim::Iova base = 0;
  bool present = true;  // PASID cache: a not-present line (CM=1)
  auto operator<=>(const CachedLine&) const = default;
  std::string str() const;
};

// The IOVA span a line covers (a paging-structure line caches a pointer to
// a table of its level, which covers the span of the level above it).
uint64_t span_of(const CachedLine& l);

// Every line of every cache, sorted.
std::vector<CachedLine> lines_of(const sim::Caches& c);

// Does this well-formed descriptor remove the line?
bool removes(const sim::Descriptor& d, bool scalable, const CachedLine& l);

}  // namespace vtd::oracle

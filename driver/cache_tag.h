// Cache tags (Linux cache_tag.c): per domain, the (DID, device, PASID)
// combinations whose caches an unmap of that domain must invalidate. They
// are assigned and removed by attach; the order relative to programming the
// hardware is the writer's (seeds/002: "it can't be *after* the HW has been
// programmed to use the new tags").
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "simulator/descriptors.h"
#include "simulator/types.h"

namespace vtd::drv {

struct CacheTag {
  enum class Kind : uint8_t {
    Iotlb,          // translations of this domain tagged `did`
    DevTlb,         // the device-TLB of `sid` for `pasid`
    NestingIotlb,   // on a nesting parent: a nested child's DID
    NestingDevTlb,  // on a nesting parent: a nested child's device-TLB
  };
  Kind kind = Kind::Iotlb;
  uint16_t did = 0;
  sim::Sid sid;
  uint32_t pasid = 0;
  bool first_stage = false;  // PASID-tagged translations (first-stage, nested, SVA)
  bool operator==(const CacheTag&) const = default;
};

class CacheTags {
 public:
  void add(const CacheTag& t) { tags_.push_back(t); }
  bool remove(const CacheTag& t);  // one matching tag
  const std::vector<CacheTag>& all() const { return tags_; }
  bool empty() const { return tags_.empty(); }

  // Descriptors that invalidate [iova, iova+size) through these tags:
  // page-selective IOTLB by DID for second-stage, PASID-based for
  // first-stage, domain-selective for nested children (their IOVAs are not
  // the parent's GPAs), device-TLB per device unless `gone(sid)`.
  void flush_range(sim::Iova iova, uint64_t size, const std::function<bool(sim::Sid)>& gone,
                   std::vector<sim::Descriptor>* iotlb, std::vector<sim::Descriptor>* devtlb) const;

 private:
  std::vector<CacheTag> tags_;
};

// Smallest address mask (log2 pages) whose aligned block covers [iova, iova+size).
uint8_t address_mask(sim::Iova iova, uint64_t size, sim::Iova* base);

}  // namespace vtd::drv

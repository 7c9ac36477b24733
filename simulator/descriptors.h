// Invalidation descriptors (spec 6.5.2, VTD-REFERENCE.md "Invalidation queue
// descriptors"): the value type both sides agree on. The driver builds them
// with the desc:: encoders and writes them into the queue through CPU
// stores; the hardware (invq.h) checks and executes them. A value type only:
// nothing here sees the queue or the caches.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "simulator/types.h"

namespace vtd::sim {

enum DescType : uint8_t {
  kDescContext = 1,
  kDescIotlb = 2,
  kDescDevTlb = 3,
  kDescWait = 5,
  kDescPasidIotlb = 6,
  kDescPasidCache = 7,
  kDescPasidDevTlb = 8,
};
const char* desc_type_name(uint8_t type);

struct Descriptor {
  std::array<uint64_t, 4> w{};  // w[2], w[3] only in 256-bit mode (reserved)
  uint8_t type() const { return uint8_t((w[0] & 0xf) | ((w[0] >> 9 & 0x7) << 4)); }
  uint8_t granularity() const { return uint8_t(w[0] >> 4 & 3); }
  uint16_t did() const { return uint16_t(w[0] >> 16); }              // DID lo[31:16]
  uint32_t pasid() const { return uint32_t(w[0] >> 32 & 0xfffff); }  // PASID lo[51:32]
  std::string str() const;                                           // "iotlb g=domain did=5"
};

enum class DescError : uint8_t { None, UnknownType, Reserved, BadGranularity, NoStatus };
const char* desc_error_name(DescError e);
// Well-formedness as hardware checks it (the IQE conditions).
DescError check_descriptor(const Descriptor& d, bool dw256);

// Encoders, one per descriptor (granularity names as the spec).
namespace desc {
Descriptor context_global();
Descriptor context_domain(uint16_t did);
Descriptor context_device(uint16_t did, Sid sid, uint8_t fm = 0);
Descriptor iotlb_global();
Descriptor iotlb_domain(uint16_t did);
Descriptor iotlb_page(uint16_t did, Iova addr, uint8_t am, bool ih = false);
Descriptor devtlb(Sid sid, Iova addr, uint8_t am);  // am = log2(pages); encoded with S
Descriptor devtlb_all(Sid sid);
Descriptor wait(PhysAddr status, uint32_t data, bool fence = true);
Descriptor piotlb_pasid(uint16_t did, uint32_t pasid);
Descriptor piotlb_page(uint16_t did, uint32_t pasid, Iova addr, uint8_t am, bool ih = false);
Descriptor pasid_cache_domain(uint16_t did);
Descriptor pasid_cache_pasid(uint16_t did, uint32_t pasid);
Descriptor pasid_cache_global();
Descriptor pdevtlb(Sid sid, uint32_t pasid, Iova addr, uint8_t am);
Descriptor pdevtlb_global(Sid sid, uint32_t pasid);
}  // namespace desc

}  // namespace vtd::sim

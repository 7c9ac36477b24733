#include "simulator/types.h"

#include <cinttypes>
#include <cstdio>

namespace vtd::sim {

std::string Sid::str() const {
  char buf[16];
  snprintf(buf, sizeof buf, "%02x:%02x.%x", bus(), dev(), fn());
  return buf;
}

std::string hex(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

std::string pasid_str(uint32_t pasid) {
  return pasid == kNoPasid ? "-" : std::to_string(pasid);
}

const char* page_type_name(PageType t) {
  static const char* const kNames[] = {"free",       "root",  "context", "pasid-dir", "pasid-table",
                                       "page-table", "queue", "data",    "kho"};
  return kNames[size_t(t)];
}

const char* fault_reason_name(FaultReason r) {
  static const char* const kNames[] = {
      "none",
      "root-not-present",
      "root-reserved",
      "context-not-present",
      "context-reserved",
      "context-invalid",
      "pasid-disabled",
      "pasid-out-of-range",
      "pasid-dir-not-present",
      "pasid-dir-reserved",
      "pasid-entry-not-present",
      "pasid-entry-reserved",
      "pasid-entry-invalid",
      "pte-not-present",
      "pte-reserved",
      "write-denied",
      "address-beyond-width",
      "device-absent",
  };
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == size_t(FaultReason::kCount));
  return kNames[size_t(r)];
}

}  // namespace vtd::sim

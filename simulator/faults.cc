#include "simulator/faults.h"

#include <cstdio>

namespace vtd::sim {

std::string Fault::str() const {
  char buf[128];
  char pasid_s[16] = "-";
  if (pasid != kNoPasid) snprintf(pasid_s, sizeof pasid_s, "%u", pasid);
  snprintf(buf, sizeof buf, "%s sid=%s pasid=%s addr=0x%llx %s", fault_reason_name(reason),
           sid.str().c_str(), pasid_s, (unsigned long long)addr,
           access == Access::Write ? "write" : "read");
  return buf;
}

void FaultLog::record(const Fault& f) {
  if (log_.size() >= kCapacity) {
    ++overflow_;
    return;
  }
  log_.push_back(f);
}

}  // namespace vtd::sim

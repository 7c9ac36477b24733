#include "simulator/faults.h"

#include "simulator/flat_map.h"

namespace vtd::sim {

std::string Fault::str() const {
  return std::string(fault_reason_name(reason)) + " sid=" + sid.str() +
         " pasid=" + pasid_str(pasid) + " addr=" + hex(addr) +
         (access == Access::Write ? " write" : " read");
}

void FaultLog::record(const Fault& f) {
  if (log_.size() >= kCapacity) {
    ++overflow_;
    return;
  }
  room(log_, 16);  // one allocation for the usual few faults
  log_.push_back(f);
}

}  // namespace vtd::sim

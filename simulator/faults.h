// Translation faults are values, recorded the way the fault-recording
// registers would hold them (spec 7.2). Never exceptions, never ending the
// process: the caller decides.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "simulator/types.h"

namespace vtd::sim {

struct Fault {
  FaultReason reason = FaultReason::None;
  Sid sid;
  uint32_t pasid = kNoPasid;
  Iova addr = 0;
  Access access = Access::Read;
  std::string str() const;
};

class FaultLog {
 public:
  static constexpr size_t kCapacity = 256;  // like a fault-recording ring: the rest overflow
  void record(const Fault& f);
  const std::vector<Fault>& entries() const { return log_; }
  uint64_t overflowed() const { return overflow_; }
  void clear() {
    log_.clear();
    overflow_ = 0;
  }

 private:
  std::vector<Fault> log_;
  uint64_t overflow_ = 0;
};

}  // namespace vtd::sim

// Status of an iommu-core call: 0 or a negative errno, as the kernel returns.
#pragma once

#include <cstdint>

namespace vtd::drv {

enum class Status : int16_t {
  Ok = 0,
  NoEnt = -2,
  Io = -5,
  NoMem = -12,
  Busy = -16,
  Exist = -17,
  NoDev = -19,
  Inval = -22,
  OpNotSupp = -95,
  TimedOut = -110,
};

const char* status_name(Status s);  // "ok", "-ENOMEM", ...
inline bool ok(Status s) {
  return s == Status::Ok;
}

}  // namespace vtd::drv

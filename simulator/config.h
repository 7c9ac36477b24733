// Configuration of one simulated platform: what the remapping unit reports in
// CAP/ECAP and what the CPU can do. A fuzz program's header selects one.
#pragma once

#include <cstdint>

namespace vtd::sim {

struct Config {
  bool scalable = true;        // ECAP.SMTS: the driver runs scalable mode when set
  bool coherent = true;        // ECAP.C: page walks snoop CPU caches
  uint8_t quantum_bits = 128;  // hardware fetch granularity: 64 or 128
  bool cpu128 = true;          // the CPU has cmpxchg16b
  bool caching_mode = false;   // CAP.CM: not-present entries may be cached
  bool five_level = true;      // SAGAW / FS5LP include 5-level tables
  bool operator==(const Config&) const = default;

  uint64_t cap() const;
  uint64_t ecap() const;
  int quantum_words() const { return quantum_bits / 64; }
};

}  // namespace vtd::sim

// A platform: physical memory, one remapping unit and two CPUs. Several
// Machines may live in one process (no globals).
#pragma once

#include "simulator/config.h"
#include "simulator/iommu.h"
#include "simulator/memory.h"

namespace vtd::sim {

// A platform: memory, one remapping unit, two CPUs.
class Machine {
 public:
  // `pages` (may be null): a PagePool the memory takes pages from and gives
  // them back to (memory.h).
  explicit Machine(const Config& cfg, PagePool* pages = nullptr);
  const Config& config() const { return iommu.config(); }
  PhysMemory mem;
  Iommu iommu;
  SimCpu cpu0, cpu1;
  SimCpu& cpu(int i) { return i == 0 ? cpu0 : cpu1; }
  void set_schedule(Schedule* s);
};

}  // namespace vtd::sim

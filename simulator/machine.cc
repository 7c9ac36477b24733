#include "simulator/machine.h"

namespace vtd::sim {

Machine::Machine(const Config& cfg, PagePool* pages)
    : mem(cfg.coherent, PhysMemory::Layout{}, pages),
      iommu(cfg, mem),
      cpu0(0, mem, iommu, cfg.cpu128),
      cpu1(1, mem, iommu, cfg.cpu128) {
  iommu.add_cpu(&cpu0);
  iommu.add_cpu(&cpu1);
}

void Machine::set_schedule(Schedule* s) {
  iommu.set_schedule(s);
  cpu0.set_schedule(s);
  cpu1.set_schedule(s);
}

}  // namespace vtd::sim

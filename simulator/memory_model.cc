// The model's page store (the default variant of PhysMemory, memory.h): a
// page is made when it is first allocated or stored to, and the hardware
// reads a quantum word by word (one thread: nothing changes in between).
#include "simulator/memory.h"
#include "simulator/memory_page.h"

namespace vtd::sim {

bool PhysMemory::real_memory() {
  return false;
}

void PhysMemory::make_pages() {}

void PhysMemory::hw_load_quantum(PhysAddr pa, int nwords, uint64_t* out) const {
  for (int i = 0; i < nwords; ++i) out[i] = hw_load(pa + 8 * uint64_t(i));
}

}  // namespace vtd::sim

// Real memory (the VTDFUZZ_REAL_MEMORY variant of PhysMemory, memory.h; the
// tsan preset): hardware threads of the race harness (race/) read this
// memory while CPU threads write it. Every page exists from the start (no
// page is made while a walker looks it up; a pool page is only "born", found
// by page(), at its first allocation, as in the model), and one hardware
// read quantum is one atomic load.
#include "simulator/memory.h"
#include "simulator/memory_page.h"

namespace vtd::sim {

bool PhysMemory::real_memory() {
  return true;
}

void PhysMemory::make_pages() {
  pool_.resize(layout_.pool_pages);
  data_.resize(layout_.data_pages);
  for (auto& slot : pool_) slot = new_page(kPoison);
  for (uint32_t i = 0; i < layout_.data_pages; ++i)
    page_or_create(layout_.data_base + uint64_t(i) * kPageSize);
}

void PhysMemory::hw_load_quantum(PhysAddr pa, int nwords, uint64_t* out) const {
  // Coherent memory only: the non-coherent DRAM view is not shared with CPU
  // threads. 128 bits: one 16-byte atomic load (cmpxchg16b with -mcx16).
  Page* p = page(pa);
  if (p && coherent_ && nwords == 2 && (pa & 15) == 0) {
    const uint64_t* w = &p->mem[(pa & (kPageSize - 1)) >> 3];
    unsigned __int128 v =
        __atomic_load_n(reinterpret_cast<const unsigned __int128*>(w), __ATOMIC_ACQUIRE);
    // ThreadSanitizer records a 16-byte atomic access as one 8-byte access
    // to its first word; an atomic load of the second word (same value,
    // nothing else changes) lets it see plain stores racing with that half.
    (void)__atomic_load_n(w + 1, __ATOMIC_RELAXED);
    out[0] = uint64_t(v);
    out[1] = uint64_t(v >> 64);
    return;
  }
  for (int i = 0; i < nwords; ++i) out[i] = hw_load(pa + 8 * uint64_t(i));
}

}  // namespace vtd::sim

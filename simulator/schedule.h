// The schedule: every freedom the spec gives the hardware (and the compiler
// gives the CPU) is a choice made here. The harness derives choices from the
// fuzz input; the base class is the default that never interleaves.
#pragma once

#include <cstdint>

#include "simulator/types.h"

namespace vtd::sim {

enum class ChoiceKind : uint8_t {
  StoreDelay,  // how many later stores a plain/once store may be overtaken by
  ChunkOrder,  // permutation index for the quanta of a multi-quantum entry
};

enum class PointKind : uint8_t {
  Store,      // a CPU store just became visible to the hardware
  Writeback,  // a non-coherent cache line was written back (clflush)
  Wait,       // the CPU spins waiting for the invalidation queue
};

struct PreemptPoint {
  PointKind kind = PointKind::Store;
  int cpu = 0;
  PhysAddr pa = 0;
  uint64_t value = 0;
};

class Schedule {
 public:
  virtual ~Schedule() = default;
  // Returns a value in [0, n); 0 is always the "no interleaving" choice.
  virtual uint32_t choose(ChoiceKind, uint32_t n) {
    (void)n;
    return 0;
  }
  // Called at every preemption point; may run hardware steps or a nested
  // op of another CPU.
  virtual void preempt(const PreemptPoint&) {}
};

}  // namespace vtd::sim

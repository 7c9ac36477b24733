// The race harness: real threads race on the simulator's memory.
//
//  - CPU threads (--threads N, default 2) run op streams generated from the
//    seed: attach / replace / detach, PASID set / replace / remove, map /
//    unmap, devices sharing a domain (and so its DID), hotplug (surprise
//    removal or release, then re-probe). Each op is one API call of
//    drv::Driver with driver.set_cpu() pointing at the thread's RealCpu.
//  - Walker threads (--walkers W, default 2) translate continuously for every
//    present device, without PASID and with each PASID it may use, with the
//    simulator's Walker and no caches (a fresh Caches per walk, so every walk
//    reads memory), and judge every walk online against the Model (P1, P2)
//    and every read of a freed or wrongly typed page (P6).
//  - The invalidation-queue thread (Platform) processes descriptors; a
//    translation-cache invalidation waits for the walks in flight.
//
// Why one iommu core mutex: drv::Driver's bookkeeping (domains, devices,
// DIDs, cache tags, the queue tail) is plain C++ state the kernel protects
// with locks the model does not all spell out (the group mutex and the
// iommu lock cover entries, not the driver's maps). Running two API calls at
// once would make the harness race on std::map, not the driver's entry
// stores race with the hardware, so API calls are serialized; inside a call
// every entry store races with the walker threads, and the driver's own
// locks (LockClass) are real mutexes.
#pragma once

#include <cstdint>
#include <string>

namespace vtd::race {

struct Options {
  std::string writer;
  double seconds = 10;
  int cpus = 2;     // CPU threads running ops
  int walkers = 2;  // hardware walker threads
  uint64_t seed = 1;
  bool cpu128 = true;  // the CPU has cmpxchg16b (write128)
  int quantum = 128;   // hardware fetch quantum, bits
};

// Runs the harness and prints its report; returns the exit status (0 clean,
// 1 a violation was found).
int run(const Options& o);

}  // namespace vtd::race

// The platform of the race harness: simulated physical memory shared by real
// threads, the remapping unit's registers, an invalidation-queue hardware
// thread, and a CpuMemory for CPU threads (RealCpu).
//
// Memory is sim::PhysMemory built with VTDFUZZ_REAL_MEMORY (coherent only):
// the hardware reads one quantum with one atomic load (acquire; 128 bit with
// a 16-byte atomic load, cmpxchg16b). The CPU store API maps to C++ as:
//   write64       plain store            (a race TSan reports when a walker
//                                          reads the word concurrently)
//   write64_once  relaxed atomic store   (WRITE_ONCE)
//   write128      16-byte atomic store   (cmpxchg16b)
//   wmb, dma_wmb  release fence
//   read64        acquire atomic load    (x86 loads; the driver spins on
//                                          the wait-descriptor status with it)
//   lock/unlock   a real mutex per LockId
//   mmio_*        registers behind a mutex (writel/readl: release/acquire)
//   relax         yield, then wait until the queue made progress
// ThreadSanitizer does not model standalone fences, so a barrier is carried
// to the thread's next atomic store, which is then a release store (a
// fence followed by a relaxed store is what the publish pattern compiles
// to). This over-approximates one case only: a plain store placed after the
// barrier but before the publishing store is also covered (the
// deterministic targets' P6 "unpublished" check owns that bug class).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "simulator/caches.h"
#include "simulator/config.h"
#include "simulator/events.h"
#include "simulator/invq.h"
#include "simulator/memory.h"
#include "simulator/registers.h"

namespace vtd::race {

// One walker thread's published state, for the invalidation drain: odd
// while a walk is in flight.
struct WalkerSlot {
  std::atomic<uint64_t> gen{0};
};

class Platform final : public sim::Observer {
 public:
  Platform(const sim::Config& cfg, sim::PhysMemory& mem, int walkers);
  ~Platform() override;
  Platform(const Platform&) = delete;
  Platform& operator=(const Platform&) = delete;

  const sim::Config& config() const { return cfg_; }
  sim::PhysMemory& memory() { return mem_; }

  // Registers (the CPUs' view).
  uint64_t mmio_read(sim::Reg r);
  void mmio_write(sim::Reg r, uint64_t v);
  uint64_t rtaddr() const { return rtaddr_.load(std::memory_order_acquire); }
  // Blocks until the queue is idle or stopped on an error (a CPU's relax).
  void wait_progress();

  // The invalidation-queue hardware thread.
  void start();
  void stop();

  // Devices behind the unit (a device-TLB invalidation to an absent device
  // times out: ITE).
  void plug(sim::Sid sid) { present_[sid.v].store(1, std::memory_order_release); }
  void unplug(sim::Sid sid) { present_[sid.v].store(0, std::memory_order_release); }

  WalkerSlot& walker(int i) { return *walkers_[size_t(i)]; }
  int walkers() const { return int(walkers_.size()); }

  // Real mutexes keyed by LockId.
  std::mutex& lock_of(sim::LockId l);

  // Queue statistics and errors (P7).
  uint64_t descriptors() const { return descriptors_.load(); }
  uint64_t drains() const { return drains_.load(); }
  uint64_t queue_errors() const { return queue_errors_.load(); }
  std::string first_queue_error() const;

  void on_event(const sim::HwEvent& e) override;  // the queue's events (QI thread)

 private:
  void run();
  void drain();  // an invalidation completes after the walks in flight

  const sim::Config cfg_;
  sim::PhysMemory& mem_;
  sim::Caches qcaches_;  // the queue's view of the caches (walkers keep none)
  sim::InvQueue queue_;
  std::atomic<uint64_t> rtaddr_{0};
  mutable std::mutex hw_mu_;  // the queue's registers and processing
  std::condition_variable work_cv_, progress_cv_;
  bool stopping_ = false;
  std::thread thread_;
  std::vector<std::unique_ptr<WalkerSlot>> walkers_;
  std::array<std::atomic<uint8_t>, 65536> present_{};
  std::mutex locks_mu_;
  std::map<sim::LockId, std::unique_ptr<std::mutex>> locks_;
  std::atomic<uint64_t> descriptors_{0}, drains_{0}, queue_errors_{0};
  std::string first_error_;  // under hw_mu_
};

struct RealCpuStats {
  uint64_t plain = 0, once = 0, wide = 0, fences = 0, relaxes = 0;
  uint64_t stray = 0;    // stores to memory that does not exist
  uint64_t illegal = 0;  // write128 without cmpxchg16b, recursive lock, unlock of a lock not held
};

// The CPU side for one real thread.
class RealCpu final : public sim::CpuMemory {
 public:
  RealCpu(int id, Platform& hw, bool has128)
      : id_(id), hw_(hw), mem_(hw.memory()), has128_(has128) {}

  const RealCpuStats& stats() const { return stats_; }

  int id() const override { return id_; }
  sim::PhysAddr alloc_page(sim::PageType t) override { return mem_.alloc(t); }
  void free_page(sim::PhysAddr page) override { mem_.free(page); }
  uint64_t read64(sim::PhysAddr pa) override { return mem_.load(pa); }
  void write64(sim::PhysAddr pa, uint64_t v) override;
  void write64_once(sim::PhysAddr pa, uint64_t v) override;
  bool has_write128() const override { return has128_; }
  void write128(sim::PhysAddr pa, uint64_t lo, uint64_t hi) override;
  void wmb() override { fence(); }
  void dma_wmb() override { fence(); }
  void lock(sim::LockId l) override;
  void unlock(sim::LockId l) override;
  void clflush(sim::PhysAddr, size_t) override {}  // coherent only
  uint64_t mmio_read(sim::Reg r) override { return hw_.mmio_read(r); }
  void mmio_write(sim::Reg r, uint64_t v) override { hw_.mmio_write(r, v); }
  void relax() override;

 private:
  void fence();
  int order();  // of the next atomic store (see the header comment)
  // The word a store to `pa` lands on; null (a stray store) outside memory.
  uint64_t* word(sim::PhysAddr pa);

  int id_;
  Platform& hw_;
  sim::PhysMemory& mem_;
  bool has128_;
  bool fenced_ = false;
  std::vector<sim::LockId> held_;
  RealCpuStats stats_;
};

}  // namespace vtd::race

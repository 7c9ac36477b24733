// The remapping unit: registers, walker, caches, invalidation queue, fault
// log and the devices behind it (for ATS and surprise removal).
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "simulator/caches.h"
#include "simulator/config.h"
#include "simulator/events.h"
#include "simulator/faults.h"
#include "simulator/flat_map.h"
#include "simulator/invq.h"
#include "simulator/memory.h"
#include "simulator/registers.h"
#include "simulator/schedule.h"
#include "simulator/walker.h"

namespace vtd::sim {

struct DmaRequest {
  Sid sid;
  uint32_t pasid = kNoPasid;
  Iova iova = 0;
  Access access = Access::Read;
  uint64_t value = 0;  // written for Access::Write
};

struct DmaResult {
  Translation xlat;  // fault, or where the access went
  bool via_devtlb = false;
  bool done = false;   // memory was accessed
  uint64_t value = 0;  // read data
};

// Register reads as a remapping unit built from these blocks answers them
// (spec chapter 11): CAP and ECAP from the configuration, RTADDR as last
// written, the queue's registers from the queue (GSTS is the unit's own:
// Iommu answers it before asking here). Iommu and the race
// harness's unit (race/platform.cc) both read through it.
uint64_t read_register(Reg r, const Config& cfg, uint64_t rtaddr, const InvQueue& queue);

class Iommu final : public Mmio {
 public:
  Iommu(const Config& cfg, PhysMemory& mem);

  const Config& config() const { return cfg_; }
  PhysMemory& memory() { return mem_; }
  void set_observer(Observer* o);
  Observer* observer() const { return hw_.obs; }
  void set_schedule(Schedule* s) { hw_.schedule = s; }
  void add_cpu(const SimCpu* c) { hw_.cpus.push_back(c); }

  // Mmio
  uint64_t mmio_read(Reg r) override;
  void mmio_write(Reg r, uint64_t v) override;
  void idle_progress() override;  // the queue makes progress while a CPU spins

  // Hardware steps (the schedule calls these at preemption points).
  void start_walk(Walk& w, const WalkRequest& r) { walker_.start(w, r); }
  void run_walk(Walk& w, int split = -1) { walker_.run(w, split); }
  Translation translate(const WalkRequest& r);  // a whole walk (prefill)
  // A walk that parks after `split` quanta of its first multi-quantum entry
  // (split <= 0: runs to completion). Parked walks resume on resume_walks()
  // or when an invalidation drains them. Returns true if it parked.
  bool walk_split(const WalkRequest& r, int split);
  void resume_walks();
  size_t parked_walks() const { return parked_.size(); }
  DmaResult dma(const DmaRequest& r);
  uint32_t process_queue(uint32_t max = UINT32_MAX);  // nothing while QIE is clear
  bool writeback_line(PhysAddr pa);                   // false when the line was clean
  bool evict(CacheKind c, uint32_t index) { return caches_.evict(c, index); }

  // Devices behind this unit (hardware side).
  void device_plug(Sid sid, bool ats);
  void device_unplug(Sid sid);  // surprise removal: the device is gone
  bool device_present(Sid sid) const;
  bool device_ats(Sid sid) const;

  // Fault injection into the invalidation queue.
  void inject_queue_error(uint64_t fsts_bit) { queue_.inject(fsts_bit); }

  // Read-only state for tests and the oracle.
  const Caches& caches() const { return caches_; }
  Caches& caches() { return caches_; }
  const FaultLog& faults() const { return faults_; }
  const InvQueue& queue() const { return queue_; }
  // The root table in use: RTADDR as latched by the last SRTP command
  // (spec 11.4.6), not as last written.
  uint64_t rtaddr() const { return hw_.rtaddr; }
  uint64_t gsts() const { return gsts_; }
  bool translating() const { return gsts_ & gsts::TES; }
  const HwContext& hw() const { return hw_; }

 private:
  Config cfg_;
  PhysMemory& mem_;
  Caches caches_;
  FaultLog faults_;
  InvQueue queue_;
  HwContext hw_;
  Walker walker_;
  struct Device {
    bool present = true;
    bool ats = false;
  };
  FlatMap<uint16_t, Device> devices_;  // flat: one allocation, not one per device
  std::vector<Walk> parked_;
  // Reset state: translation off, the queue not processed, no root table
  // latched. Nothing resets them later: a kexec leaves the unit as it is
  // (DESIGN.md section 12: caches, the root register, TE and parked walks
  // survive).
  uint64_t rtaddr_reg_ = 0;  // RTADDR as last written
  uint64_t gsts_ = 0;
};

}  // namespace vtd::sim

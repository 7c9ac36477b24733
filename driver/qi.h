// Queued invalidation from the CPU side (spec 6.5.2, Linux qi_submit_sync):
// descriptors go into the queue under the queue lock, a wait descriptor
// follows with its own status slot, the tail register is written, and the
// CPU spins (dropping the lock) until the status word says done.
#pragma once

#include <cstdint>
#include <vector>

#include "driver/status.h"
#include "simulator/descriptors.h"
#include "simulator/memory.h"

namespace vtd::drv {

class Qi {
 public:
  // `lock` is the queue lock's id (taken around the descriptor writes).
  Status init(sim::CpuMemory& cpu, bool dw256, sim::LockId lock);
  // Submits the batch plus a wait and waits for it (a batch larger than a
  // quarter of the queue goes in several parts, in order, each with its own
  // wait). An IQE in its own descriptors, or an ITE/ICE while it (or any
  // other CPU's submission) waits, makes it resubmit once (the queue is
  // kept moving as Linux does: a bad descriptor at the head is overwritten
  // by the wait); a second error returns -EIO, a wait that never completes
  // -ETIMEDOUT.
  Status submit(sim::CpuMemory& cpu, const std::vector<sim::Descriptor>& batch);
  // The batch queued and the tail moved, with no wait descriptor and no
  // waiting (what a flow that does not wait does; DESIGN.md section 12, B28).
  void post(sim::CpuMemory& cpu, const std::vector<sim::Descriptor>& batch);
  uint64_t submissions() const { return submissions_; }

 private:
  Status submit_once(sim::CpuMemory& cpu, const std::vector<sim::Descriptor>& batch);
  void write_desc(sim::CpuMemory& cpu, uint32_t index, const sim::Descriptor& d);
  uint32_t entry_bytes() const { return dw256_ ? 32 : 16; }

  sim::PhysAddr queue_ = 0;
  sim::PhysAddr status_ = 0;
  uint32_t entries_ = 0;
  uint32_t tail_ = 0;
  bool dw256_ = false;
  sim::LockId lock_ = 0;
  uint64_t submissions_ = 0;
  // Per queue slot, the state of a wait descriptor (Linux desc_status).
  enum class Slot : uint8_t { Free, InUse, Aborted };
  std::vector<Slot> slot_;
};

}  // namespace vtd::drv

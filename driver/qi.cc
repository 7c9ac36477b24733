#include "driver/qi.h"

#include <algorithm>

#include "simulator/registers.h"

namespace vtd::drv {

using sim::Descriptor;
using sim::Reg;

namespace {
constexpr uint32_t kDone = 1;
constexpr int kSpins = 32;
}  // namespace

Status Qi::init(sim::CpuMemory& cpu, bool dw256, sim::LockId lock) {
  dw256_ = dw256;
  lock_ = lock;
  queue_ = cpu.alloc_page(sim::PageType::Queue);
  status_ = cpu.alloc_page(sim::PageType::Queue);
  if (!queue_ || !status_) return Status::NoMem;
  entries_ = uint32_t(sim::kPageSize / entry_bytes());
  slot_.assign(entries_, Slot::Free);
  cpu.mmio_write(Reg::IQA, queue_ | (dw256 ? sim::iqa::DW : 0));  // QS=0: one page
  tail_ = 0;
  return Status::Ok;
}

void Qi::write_desc(sim::CpuMemory& cpu, uint32_t index, const Descriptor& d) {
  sim::PhysAddr at = queue_ + uint64_t(index) * entry_bytes();
  for (uint32_t i = 0; i < entry_bytes() / 8; ++i) cpu.write64(at + 8 * i, d.w[i]);
}

Status Qi::submit(sim::CpuMemory& cpu, const std::vector<Descriptor>& batch) {
  // A batch larger than a quarter of the queue (an unmap on a domain with
  // many cache tags) goes in several parts, in order, each waited for.
  const size_t max = entries_ / 4 - 1;
  for (size_t first = 0; first < batch.size(); first += max) {
    const std::vector<Descriptor> part(batch.begin() + long(first),
                                       batch.begin() + long(std::min(batch.size(), first + max)));
    ++submissions_;
    Status s = submit_once(cpu, part);
    if (s == Status::Io) s = submit_once(cpu, part);  // once more after an error
    if (!ok(s)) return s;
  }
  return Status::Ok;
}

void Qi::post(sim::CpuMemory& cpu, const std::vector<Descriptor>& batch) {
  cpu.lock(lock_);
  for (const Descriptor& d : batch) {
    write_desc(cpu, tail_, d);
    tail_ = (tail_ + 1) % entries_;
  }
  cpu.mmio_write(Reg::IQT, uint64_t(tail_) * entry_bytes());
  cpu.unlock(lock_);
}

Status Qi::submit_once(sim::CpuMemory& cpu, const std::vector<Descriptor>& batch) {
  cpu.lock(lock_);
  const uint32_t first = tail_;
  for (const Descriptor& d : batch) {
    write_desc(cpu, tail_, d);
    tail_ = (tail_ + 1) % entries_;
  }
  const uint32_t wait_index = tail_;
  const sim::PhysAddr status = status_ + 8ull * wait_index;
  cpu.write64(status, 0);
  const Descriptor wait = sim::desc::wait(status, kDone);
  write_desc(cpu, wait_index, wait);
  slot_[wait_index] = Slot::InUse;
  tail_ = (tail_ + 1) % entries_;
  cpu.mmio_write(Reg::IQT, uint64_t(tail_) * entry_bytes());
  cpu.unlock(lock_);

  for (int spin = 0; spin < kSpins; ++spin) {
    if ((cpu.read64(status) & 0xffffffff) == kDone) {
      const bool aborted = slot_[wait_index] == Slot::Aborted;
      slot_[wait_index] = Slot::Free;
      return aborted ? Status::Io : Status::Ok;
    }
    uint64_t fsts = cpu.mmio_read(Reg::FSTS);
    if (fsts & sim::fsts::IQE) {
      uint32_t head = uint32_t(cpu.mmio_read(Reg::IQH) / entry_bytes());
      uint32_t span = (wait_index + entries_ - first) % entries_;
      if ((head + entries_ - first) % entries_ <= span) {
        // Ours: replace the bad descriptor by the wait so the queue moves on.
        cpu.lock(lock_);
        write_desc(cpu, head, wait);
        cpu.unlock(lock_);
        slot_[wait_index] = Slot::Aborted;
      }
      cpu.mmio_write(Reg::FSTS, sim::fsts::IQE);
    }
    if (fsts & (sim::fsts::ITE | sim::fsts::ICE)) {
      // The hardware aborted a descriptor (timeout or completion error),
      // not necessarily one of ours: whoever sees the fault first clears
      // it, so every submission still waiting is marked aborted and
      // resubmits (Linux qi_check_fault: pending waits become QI_ABORT).
      // Found by the ops target: a second CPU cleared an ICE that dropped
      // the first CPU's context-cache flush (corpus/regress/R12).
      for (Slot& s : slot_)
        if (s == Slot::InUse) s = Slot::Aborted;
      cpu.mmio_write(Reg::FSTS, fsts & (sim::fsts::ITE | sim::fsts::ICE));
    }
    cpu.relax();
  }
  slot_[wait_index] = Slot::Free;
  return Status::TimedOut;
}

}  // namespace vtd::drv

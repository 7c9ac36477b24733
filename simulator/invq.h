// Invalidation queue (spec 6.5.2): descriptors in memory, 128- or 256-bit,
// processed from head to tail. Malformed descriptors raise IQE and stop the
// head; a device-TLB invalidation to a removed device raises ITE; a wait
// descriptor writes its status word when everything before it is done.
// The descriptor values themselves are in descriptors.h.
#pragma once

#include <cstdint>
#include <functional>

#include "simulator/caches.h"
#include "simulator/config.h"
#include "simulator/descriptors.h"
#include "simulator/events.h"
#include "simulator/memory.h"

namespace vtd::sim {

// Hardware side of the queue: the IQA/IQH/IQT/FSTS registers and processing.
class InvQueue {
 public:
  InvQueue(const Config& cfg, PhysMemory& mem, Caches& caches);
  void set_observer(Observer* o) { obs_ = o; }
  // Asks whether a device is present (a device-TLB invalidation to an absent
  // device times out: ITE).
  void set_device_present(std::function<bool(Sid)> f) { present_ = std::move(f); }
  // Called before a translation-cache invalidation executes: in-flight walks
  // finish first (an invalidation completes only after walks that may hold
  // the old entry are done, spec 6.5.2).
  void set_drain(std::function<void()> f) { drain_ = std::move(f); }

  uint64_t read(Reg r) const;
  void write(Reg r, uint64_t v);  // FSTS is write-1-to-clear

  // Processes up to `max` descriptors; returns how many were processed.
  uint32_t process(uint32_t max);
  bool idle() const;  // nothing to do, or stopped on an error
  uint64_t fsts() const { return fsts_; }
  uint64_t processed() const { return processed_; }

  // Fault injection: the next processed descriptor raises `fsts_bit`
  // (fsts::IQE/ITE/ICE) instead of completing.
  void inject(uint64_t fsts_bit) { inject_ = fsts_bit; }

 private:
  uint32_t entry_bytes() const { return (iqa_ & iqa::DW) ? 32 : 16; }
  uint32_t entries() const;
  bool execute(const Descriptor& d, PhysAddr at);
  void raise(uint64_t bit, bool injected, PhysAddr at, const Descriptor* d);

  const Config& cfg_;
  PhysMemory& mem_;
  Caches& caches_;
  Observer* obs_ = nullptr;
  std::function<bool(Sid)> present_;
  std::function<void()> drain_;
  uint64_t iqa_ = 0, iqh_ = 0, iqt_ = 0, fsts_ = 0;
  uint64_t inject_ = 0;
  uint64_t processed_ = 0;
};

}  // namespace vtd::sim

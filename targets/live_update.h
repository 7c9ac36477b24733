// The harness's live-update orchestration (DESIGN.md section 12): which
// kernel runs, and the two ops that change it. A program runs on the first
// kernel's driver until `kexec`: the flow's shutdown, the oracle's look at
// what is preserved, then PhysMemory::kexec() frees every page not
// preserved, and the driver and its flow are destroyed. Until `restore`
// (the dark window) no kernel runs: API calls fail with -ENODEV, hardware
// steps run on what the unit kept (caches, root register, TE, parked
// walks). `restore` makes a new flow and a new driver whose IOMMU init
// reads the KHO page, the one value PhysMemory carried across. One live
// update per program (the model's limit): a second kexec is -EINVAL.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "driver/driver.h"
#include "driver/live_update.h"
#include "oracle/oracle.h"
#include "simulator/machine.h"
#include "targets/trace.h"

namespace vtd::harness {

class LiveUpdate {
 public:
  enum class Phase : uint8_t { Old, Dark, New };

  // `flow`: the flow's name (every kernel of the run uses it); `writer` is
  // every kernel's entry writer.
  LiveUpdate(std::string flow, drv::Writer& writer) : name_(std::move(flow)), writer_(writer) {}
  // The first kernel's driver (its init is the caller's); nullptr when the
  // flow is unknown.
  std::unique_ptr<drv::Driver> boot(sim::Machine& m);

  Phase phase() const { return phase_; }
  // Whether an API op of this kind can run in this phase (-EINVAL or
  // -ENODEV otherwise: *st).
  bool admits(prog::OpKind k, drv::Status* st) const;
  // The kexec and the restore; `trace` gets what `explain` shows (may be
  // null). The new kernel's driver reports its cache tags to `o`.
  drv::Status kexec(sim::Machine& m, oracle::Oracle& o, std::unique_ptr<drv::Driver>& d,
                    trace::Recorder* trace);
  drv::Status restore(sim::Machine& m, oracle::Oracle& o, std::unique_ptr<drv::Driver>& d,
                      uint32_t fail_nth, trace::Recorder* trace);

 private:
  std::string name_;
  drv::Writer& writer_;
  std::unique_ptr<drv::LuFlow> flow_;  // the running kernel's; none in the dark window
  Phase phase_ = Phase::Old;
};

}  // namespace vtd::harness

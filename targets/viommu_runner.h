// The vIOMMU runner's class (targets/viommu.h), private to targets/: the
// VMM and the raw guest are in viommu.cc, the guest driver, its oracle and
// the host's hardware steps in viommu_guest.cc.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "driver/driver.h"
#include "oracle/oracle.h"
#include "oracle/viommu.h"
#include "prog/program.h"
#include "simulator/machine.h"
#include "targets/harness.h"
#include "vmm/iommufd.h"
#include "vmm/propagator.h"
#include "vmm/vunit.h"

namespace vtd::viommu::detail {

constexpr int kGuestCpu = 2;  // the guest's CPU (host CPUs are 0 and 1)
// Guest RAM: GPA 0 up to 1 GiB, mapped GPA == HPA by the nesting parent.
constexpr sim::PhysAddr kGuestRam = 1ull << 30;

// A two-level program calls the guest's driver (g.domain, g.attach, ...).
bool two_level(const prog::Program& p);

class Runner final : public vmm::VmmObserver, public sim::Observer, public sim::Schedule {
 public:
  Runner(const prog::Program& p, drv::Writer& host_writer, vmm::Propagator& prop,
         const std::string& prop_name, const std::string& guest_writer, const harness::Options& o);
  harness::Result go();

  void on_vmm_event(const vmm::VmmEvent& e) override;
  void on_event(const sim::HwEvent& e) override;
  uint32_t choose(sim::ChoiceKind, uint32_t n) override;
  void preempt(const sim::PreemptPoint& pp) override;

 private:
  // A line of the trace, built only when tracing: the fuzz loop never
  // reads it (formatting every event was 3% of the viommu target's time).
  template <class Text>
  void line(Text&& text) {
    if (opt_.trace && !r_.trace.empty()) r_.trace.back().note(text());
  }
  drv::Status run_op(const prog::Op& op);

  // The VMM (viommu.cc).
  drv::Status assign(sim::Sid host, sim::Sid guest);

  // The raw guest (viommu.cc): tables and a queue the program stores into.
  void lay_out(sim::Sid guest);
  void program_unit();
  void store(sim::PhysAddr pa, uint64_t v);
  sim::PhysAddr context_pa(sim::Sid guest) const;
  sim::PhysAddr table_for(sim::Sid guest, uint32_t pasid);
  drv::Status store_context(sim::Sid guest, bool present);
  drv::Status store_entry(sim::Sid guest, uint32_t pasid, const sim::Entry& e);
  drv::Status queue(const prog::Op& op);

  // The guest driver and its oracle (viommu_guest.cc).
  bool boot_guest(uint32_t op_index);
  drv::Status guest_call(const prog::Op& op);
  void guest_begin(uint32_t op_index, const prog::Op& op);
  void guest_end(drv::Status st);
  void refresh_view();
  void guest_dma(const sim::HwEvent& e);
  void host_step(const prog::Op& op);
  void p14(const std::string& what, std::vector<std::string> details, const std::string& kind);

  const prog::Program& p_;
  const harness::Options& opt_;
  const std::string prop_name_;
  sim::Machine m_;
  drv::Driver d_;
  vmm::Iommufd fd_;
  vmm::VirtualUnit unit_;
  oracle::ViommuJudge judge_;
  sim::SimCpu gcpu_;
  harness::Result r_;
  uint32_t fail_next_ = 0;
  uint32_t parent_ = 0;
  std::map<uint16_t, vmm::AssignedDevice> guests_;  // by guest BDF
  // The op running, its schedule points and choices.
  const prog::Op* op_ = nullptr;
  uint32_t op_index_ = 0, stores_ = 0, waits_ = 0, choice_ = 0;
  uint64_t dma_value_ = 0xd0d0000000000000ull;
  // The raw guest's structures.
  sim::PhysAddr root_ = 0, queue_ = 0, status_ = 0;
  uint32_t tail_ = 0;
  std::map<uint16_t, sim::PhysAddr> ctx_tables_, dirs_;
  std::map<std::pair<uint16_t, uint32_t>, sim::PhysAddr> tables_;
  // Two-level programs: the guest's driver, the unit as the guest's oracle
  // reads it (its registers and the caches the virtual hardware stands
  // for) and that oracle (P14).
  const bool two_level_;
  std::string guest_writer_name_;
  std::unique_ptr<drv::Writer> guest_writer_;
  std::unique_ptr<drv::Driver> gd_;
  sim::Iommu view_;
  std::unique_ptr<oracle::Oracle> go_;
  bool p14_ = false;
  oracle::Violation v14_;
};

}  // namespace vtd::viommu::detail

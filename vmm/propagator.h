// The propagator interface: the VMM code vtdfuzz puts under test in a
// vIOMMU (DESIGN.md section 13, seeds/003). The guest programs PASID
// entries in its own tables and queues invalidations into the virtual
// unit; the propagator sees each descriptor and turns what the guest's
// entries say into calls of the iommufd facade: bind (PGTT=pass-through:
// attach the nesting parent; PGTT=first-stage: allocate a nested HWPT from
// FSPTPTR, AW, SRE, WPE, EAFE and attach it), replace, unbind (detach, or
// the default HWPT when remapping is off or the unit is legacy), reset.
// It keeps the virtual PASID cache itself. The oracle never looks inside
// it: it watches the facade's calls, the faults reported to the guest and
// the guest's own tables.
//
// Out-of-tree propagators: put a class in your own .cc, register it with
// VTDFUZZ_REGISTER_PROPAGATOR and configure with
// -DVTDFUZZ_EXTRA_PROPAGATORS=/path/a.cc.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "driver/registry.h"
#include "simulator/descriptors.h"
#include "simulator/types.h"
#include "vmm/events.h"
#include "vmm/iommufd.h"

namespace vtd::vmm {

// What the VMM gives a propagator.
class VmmCtx {
 public:
  virtual ~VmmCtx() = default;
  virtual Iommufd& iommufd() = 0;
  virtual std::span<const AssignedDevice> devices() const = 0;
  // The guest's remapping: GSTS.TES, and whether its root table is in
  // scalable mode (RTADDR.TTM).
  virtual bool dmar_enabled() const = 0;
  virtual bool scalable() const = 0;
  virtual uint64_t rtaddr() const = 0;
  virtual uint64_t read_guest(sim::PhysAddr gpa) = 0;  // guest memory, as a CPU reads it
  // Records a fault in the virtual unit's fault-recording registers, which
  // the guest reads (seeds/003: "TODO: Fault event injection into guest").
  virtual void report_fault(sim::Sid guest, uint32_t pasid, sim::FaultReason r) = 0;
};

class Propagator {
 public:
  virtual ~Propagator() = default;
  // A guest invalidation descriptor (never a wait: the unit completes
  // those), in queue order. Remapping may be off: the queue still runs.
  virtual void descriptor(VmmCtx& ctx, const sim::Descriptor& d) = 0;
  // The guest turned remapping on or off, or switched its root table's
  // mode (ctx says which).
  virtual void remapping(VmmCtx& ctx) = 0;
  // The unit was reset (remapping is off): every binding goes.
  virtual void reset(VmmCtx& ctx) = 0;
};

// ------------------------------------------------------------ registry --

using PropagatorInfo = drv::PartInfo<Propagator>;  // driver/registry.h
using PropagatorFactory = PropagatorInfo::Factory;
using PropagatorRegistrar = drv::Registry<Propagator>::Registrar;

// Every registered propagator, sorted by name; filled at static
// initialization and read-only afterwards.
inline const std::vector<PropagatorInfo>& propagators() {
  return drv::Registry<Propagator>::all();
}
inline const PropagatorInfo* propagator_info(std::string_view name) {
  return drv::Registry<Propagator>::find(name);
}
inline std::unique_ptr<Propagator> make_propagator(std::string_view name) {
  return drv::Registry<Propagator>::make(name);
}

#define VTDFUZZ_PROPAGATOR_CAT2(a, b) a##b
#define VTDFUZZ_PROPAGATOR_CAT(a, b) VTDFUZZ_PROPAGATOR_CAT2(a, b)
// VTDFUZZ_REGISTER_PROPAGATOR(MyPropagator, "my-vmm", "one-line summary"
//                             [, "B29", "P13|P14"]);
#define VTDFUZZ_REGISTER_PROPAGATOR(Class, name, ...)                                              \
  static const ::vtd::vmm::PropagatorRegistrar VTDFUZZ_PROPAGATOR_CAT(vtdfuzz_propagator_,         \
                                                                      __LINE__)(                   \
      name, []() -> std::unique_ptr<::vtd::vmm::Propagator> { return std::make_unique<Class>(); }, \
      __VA_ARGS__)

}  // namespace vtd::vmm

// What the VMM does, as the oracle sees it (DESIGN.md section 13): the
// iommufd facade's calls and the virtual unit's events. Value types only;
// delivered to an observer, like the simulator's hardware events.
#pragma once

#include <cstdint>
#include <string>

#include "driver/driver.h"
#include "simulator/descriptors.h"
#include "simulator/types.h"

namespace vtd::vmm {

enum class Call : uint8_t {
  BindDevice,
  AllocPaging,
  Map,
  AllocNested,
  Attach,
  Detach,
  Destroy,
  Invalidate,
};
const char* call_name(Call c);

// One facade call: its arguments, then (when it returned) its result.
struct FacadeCall {
  Call call = Call::Attach;
  sim::Sid host;         // BindDevice
  uint32_t dev_id = 0;   // AllocPaging, AllocNested, Attach, Detach
  uint32_t pasid = 0;    // Attach, Detach (0: requests without PASID)
  uint32_t id = 0;       // the HWPT: Attach, Destroy, Invalidate, Map; AllocNested: the parent
  drv::S1Config s1;      // AllocNested
  sim::Iova iova = 0;    // Map, Invalidate
  sim::PhysAddr pa = 0;  // Map
  uint64_t size = 0;     // Map, Invalidate
  drv::Status status = drv::Status::Ok;
  uint32_t out_id = 0;  // BindDevice, AllocPaging, AllocNested: the new object
  // "attach dev=1 pasid=0 hwpt=3", with " -> ok id=4" once it returned.
  std::string str(bool returned) const;
};

// g.dmar: what the guest's remapping does (GCMD.TE and RTADDR.TTM).
enum class Remap : uint8_t { Off, On, Legacy };
const char* remap_name(Remap r);

enum class VmmEventKind : uint8_t {
  Assign,      // a host device was assigned to the guest (device)
  CallBegin,   // a facade call starts (call)
  CallEnd,     // it returned (call, with its status)
  Descriptor,  // the virtual unit hands a guest descriptor to the propagator (desc, seq)
  Remapping,   // the guest turned remapping off, on or to legacy mode (remap): the
               // propagator is told next
  Reset,       // the virtual unit was reset: the propagator is told next
  Handled,     // the propagator is done with the descriptor, remapping change or reset
  QueueError,  // a malformed guest descriptor: IQE, the head stays on it (desc)
  WaitDone,    // a guest wait descriptor completed (desc, seq)
  GuestFault,  // the VMM reported a fault to the guest (guest sid, pasid, reason)
};

// An assigned device as the VMM set it up: the BDF the guest sees, the host
// device behind it, its iommufd device object and the HWPT it falls back
// to (the nesting parent, which is also the default HWPT: seeds/003 uses
// idev->hwpt_id for both).
struct AssignedDevice {
  sim::Sid guest;
  sim::Sid host;
  uint32_t dev_id = 0;
  uint32_t default_hwpt = 0;
};

struct VmmEvent {
  VmmEventKind kind = VmmEventKind::Descriptor;
  const FacadeCall* call = nullptr;
  const AssignedDevice* device = nullptr;
  sim::Descriptor desc;
  uint64_t seq = 0;  // descriptors the unit has taken, this one included
  sim::Sid sid;      // GuestFault: the guest's BDF
  uint32_t pasid = 0;
  sim::FaultReason reason = sim::FaultReason::None;
  Remap remap = Remap::Off;
};
std::string describe(const VmmEvent& e);

class VmmObserver {
 public:
  virtual ~VmmObserver() = default;
  virtual void on_vmm_event(const VmmEvent& e) = 0;
};

}  // namespace vtd::vmm

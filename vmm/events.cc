#include "vmm/events.h"

namespace vtd::vmm {

using sim::hex;

const char* call_name(Call c) {
  static const char* const kNames[] = {"bind-device", "alloc-paging", "map",     "alloc-nested",
                                       "attach",      "detach",       "destroy", "invalidate"};
  return kNames[size_t(c)];
}

const char* remap_name(Remap r) {
  static const char* const kNames[] = {"off", "on", "legacy"};
  return kNames[size_t(r)];
}

std::string FacadeCall::str(bool returned) const {
  std::string s = call_name(call);
  switch (call) {
    case Call::BindDevice:
      s += " host=" + host.str();
      break;
    case Call::AllocPaging:
      s += " dev=" + std::to_string(dev_id);
      break;
    case Call::Map:
      s += " hwpt=" + std::to_string(id) + " gpa=" + hex(iova) + " hpa=" + hex(pa) +
           " size=" + hex(size);
      break;
    case Call::AllocNested:
      s += " dev=" + std::to_string(dev_id) + " parent=" + std::to_string(id) +
           " fsptptr=" + hex(s1.fsptptr) + " aw=" + std::to_string(s1.addr_width) +
           " flags=" + std::to_string(s1.flags);
      break;
    case Call::Attach:
      s += " dev=" + std::to_string(dev_id) + " pasid=" + std::to_string(pasid) +
           " hwpt=" + std::to_string(id);
      break;
    case Call::Detach:
      s += " dev=" + std::to_string(dev_id) + " pasid=" + std::to_string(pasid);
      break;
    case Call::Destroy:
      s += " id=" + std::to_string(id);
      break;
    case Call::Invalidate:
      s += " hwpt=" + std::to_string(id) + " iova=" + hex(iova) + " size=" + hex(size);
      break;
  }
  if (returned) {
    s += std::string(" -> ") + drv::status_name(status);
    if (drv::ok(status) && out_id) s += " id=" + std::to_string(out_id);
  }
  return s;
}

std::string describe(const VmmEvent& e) {
  switch (e.kind) {
    case VmmEventKind::Assign:
      return "assign guest " + e.device->guest.str() + " <- host " + e.device->host.str() +
             " (iommufd dev " + std::to_string(e.device->dev_id) + ", default hwpt " +
             std::to_string(e.device->default_hwpt) + ")";
    case VmmEventKind::CallBegin:
      return "iommufd " + e.call->str(false);
    case VmmEventKind::CallEnd:
      return "iommufd " + e.call->str(true);
    case VmmEventKind::Descriptor:
      return "vunit takes descriptor " + std::to_string(e.seq) + ": " + e.desc.str();
    case VmmEventKind::Handled:
      return e.seq ? "vunit done with descriptor " + std::to_string(e.seq) : "vunit done";
    case VmmEventKind::QueueError:
      return "vunit IQE on " + e.desc.str();
    case VmmEventKind::WaitDone:
      return "vunit wait " + std::to_string(e.seq) + " done";
    case VmmEventKind::GuestFault:
      return "vunit reports a fault to the guest: " + e.sid.str() +
             " pasid=" + std::to_string(e.pasid) + " " + sim::fault_reason_name(e.reason);
    case VmmEventKind::Remapping:
      return std::string("vunit remapping ") + remap_name(e.remap);
    case VmmEventKind::Reset:
      return "vunit reset";
  }
  return "?";
}

}  // namespace vtd::vmm

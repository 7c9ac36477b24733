// The iommufd facade (DESIGN.md section 13): the host kernel's uAPI as the
// VMM sees it. Objects are named by IDs given lowest free from 1: ID 0 means
// "none" and never names an object (seeds/003, Nicolin Chen: "ID=0 is
// reserved for global use in uAPI", xa_init_flags(XA_FLAGS_ALLOC1)). A call
// naming 0 or an unknown ID gets -ENOENT; destroying an object still in use
// (attached, a nested HWPT's parent, a bound device) -EBUSY. Every call goes
// to the host driver (driver/driver.h) and is reported to the observer when
// it starts and when it returns: the oracle judges the VMM by these events.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "driver/driver.h"
#include "vmm/events.h"

namespace vtd::vmm {

enum class ObjKind : uint8_t { Device, HwptPaging, HwptNested };

class Iommufd {
 public:
  explicit Iommufd(drv::Driver& host) : host_(host) {}
  void set_observer(VmmObserver* o) { obs_ = o; }

  // VFIO_DEVICE_BIND_IOMMUFD: a host device the host kernel has probed.
  drv::Status bind_device(sim::Sid host, uint32_t* dev_id);
  // IOMMU_HWPT_ALLOC of a nesting parent (second-stage, GPA -> HPA) for
  // `dev_id`; IOMMU_IOAS_MAP into it.
  drv::Status alloc_paging(uint32_t dev_id, uint32_t* id);
  drv::Status map(uint32_t hwpt, sim::Iova gpa, sim::PhysAddr hpa, uint64_t size);
  // IOMMU_HWPT_ALLOC with IOMMU_HWPT_DATA_VTD_S1 on `parent`.
  drv::Status alloc_nested(uint32_t dev_id, uint32_t parent, const drv::S1Config& s1, uint32_t* id);
  // Attach, or replace what is attached (VFIO_DEVICE_ATTACH_IOMMUFD_PT); PASID
  // 0 is the device's requests without PASID.
  drv::Status attach(uint32_t dev_id, uint32_t pasid, uint32_t hwpt);
  drv::Status detach(uint32_t dev_id, uint32_t pasid);  // to blocked
  drv::Status destroy(uint32_t id);                     // IOMMU_DESTROY
  // IOMMU_HWPT_INVALIDATE of a nested HWPT: [iova, iova + size), 0 = all.
  drv::Status invalidate(uint32_t hwpt, sim::Iova iova, uint64_t size);

  // Fault injection: the n-th host allocation (1-based) from now until
  // clear_fail() fails (-ENOMEM from the call that makes it).
  void fail_nth_alloc(uint32_t n) { fail_nth_ = n; }
  void clear_fail() { fail_nth_ = 0; }

  // Public facts (what IOMMU_GET_HW_INFO-era user space can know).
  bool exists(uint32_t id) const { return objs_.count(id) != 0; }
  uint32_t attached(uint32_t dev_id, uint32_t pasid) const;  // 0: blocked
  std::vector<uint32_t> attached_pasids(uint32_t dev_id) const;
  size_t objects() const { return objs_.size(); }

 private:
  struct Object {
    ObjKind kind = ObjKind::Device;
    sim::Sid sid;         // a device: the host device
    uint32_t parent = 0;  // a nested HWPT: its parent
    uint32_t users = 0;   // attachments (HWPTs), bound (devices)
    uint32_t children = 0;
  };
  uint32_t next_id() const;
  const Object* find(uint32_t id, ObjKind kind) const;
  // Runs a host driver call under the fault injection's budget.
  template <class F>
  drv::Status host_call(F f);
  drv::Status finish(FacadeCall& c, drv::Status st);
  void begin(const FacadeCall& c);

  drv::Driver& host_;
  VmmObserver* obs_ = nullptr;
  std::map<uint32_t, Object> objs_;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> att_;  // (device, PASID) -> HWPT
  uint32_t fail_nth_ = 0;
};

}  // namespace vtd::vmm

// The iommu-core API of the driver model (DESIGN.md section 5): the CPU side
// whose correctness vtdfuzz judges. It sees the platform only through the
// CPU-side memory API (simulator/memory.h) and the registers; every entry
// change goes through the selected Writer.
//
// Every call returns a Status and, when it fails, leaves every table, cache
// tag, DID and refcount as it was.
//
// Implemented by driver.cc, devices.cc, domains.cc, attach.cc and call_ctx.cc
// around the private state in driver_impl.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "driver/cache_tag.h"
#include "driver/did.h"
#include "driver/pgtable.h"
#include "driver/qi.h"
#include "driver/status.h"
#include "driver/writer.h"
#include "simulator/memory.h"
#include "simulator/types.h"

namespace vtd::drv {

class LuFlow;  // driver/live_update.h
struct KhoState;

using DomainId = uint32_t;  // chosen by the caller; 0 is "no domain"

enum class DomainType : uint8_t {
  SecondStage,
  FirstStage,
  Nested,
  Identity,
  Blocking,
  Sva,
  kCount
};
const char* domain_type_name(DomainType t);

enum Perm : uint8_t { kRead = 1, kWrite = 2 };

struct DeviceCaps {
  bool ats = false;    // has a device-TLB
  bool pasid = false;  // PASID capable
};

// Lock classes the driver takes (the harness uses them to decide whether a
// second CPU may run an op at a preemption point).
enum class LockClass : uint8_t { Iommu = 1, Group = 2, Cache = 3, Pgtable = 4, Qi = 5 };
inline sim::LockId lock_id(LockClass c, uint32_t object = 0) {
  return sim::LockId(uint64_t(c) << 32 | object);
}

constexpr uint32_t kMaxPasid = 128 * 64;  // PDTS=0: 128 directory entries
// A nested domain's stage-1 tables cover IOVAs below this (they are fixed
// at allocation: the guest owns them, the VMM maps them once).
constexpr uint64_t kNestedIovaLimit = 2ull << 20;
constexpr int kPhysAddrBits = 52;  // host address width the page tables can express

// The stage-1 configuration of a nested domain whose tables belong to its
// user (iommufd's struct iommu_hwpt_vtd_s1: the guest's FSPTPTR, its
// first-stage address width and the IOMMU_VTD_S1_* flags, seeds/003
// vtd_create_fs_hwpt).
constexpr uint32_t kS1Sre = 1u << 0, kS1Eafe = 1u << 1, kS1Wpe = 1u << 2;
struct S1Config {
  sim::PhysAddr fsptptr = 0;
  uint8_t addr_width = 48;  // 48 (4-level) or 57 (5-level)
  uint32_t flags = 0;       // kS1Sre | kS1Eafe | kS1Wpe
  bool operator==(const S1Config&) const = default;
};

// Tracepoints of the shared machinery (Linux's cache_tag_assign /
// cache_tag_unassign trace events): what an observer — the oracle — may
// know of the core's bookkeeping without looking inside a writer.
class DriverObserver {
 public:
  virtual ~DriverObserver() = default;
  // A cache tag of domain `dom` was added (or removed): unmaps on `dom`
  // now (no longer) invalidate `t.did` for (t.sid, t.pasid).
  virtual void on_cache_tag(DomainId dom, const CacheTag& t, bool added) = 0;
};

class Driver {
 public:
  // `flow` (live_update.h) is how this kernel preserves and restores; none:
  // the live-update calls return -EINVAL.
  Driver(sim::CpuMemory& cpu, Writer& writer, LuFlow* flow = nullptr);
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Reads CAP/ECAP, allocates the root table and the invalidation queue and
  // programs RTADDR. Must succeed before any other call.
  Status init();
  const Caps& caps() const { return caps_; }

  void set_observer(DriverObserver* o) { observer_ = o; }

  // The CPU the next calls run on (a second CPU runs nested ops).
  void set_cpu(sim::CpuMemory* cpu) { cpu_ = cpu; }
  sim::CpuMemory& cpu() { return *cpu_; }

  // Devices.
  Status probe(sim::Sid sid, DeviceCaps caps);
  Status release(sim::Sid sid);
  // SR-IOV: VF i gets RID (bus+1):00.i — a new bus, so a new context table.
  Status enable_vfs(sim::Sid pf, uint8_t n);
  // The device is gone (hot-unplug without warning): no more device-TLB
  // invalidations are sent to it, then it is released.
  Status surprise_remove(sim::Sid sid);

  // Domains.
  Status domain_alloc(DomainId id, DomainType type, DomainId parent = 0, int levels = 4);
  Status domain_free(DomainId id);
  // A nested domain on second-stage `parent` whose stage-1 tables its user
  // owns (iommufd IOMMU_HWPT_ALLOC with IOMMU_HWPT_DATA_VTD_S1): unknown
  // flags -EOPNOTSUPP; what the unit cannot run (an address width other
  // than 48 or 57, SRE without ECAP.SRS, EAFE without ECAP.EAFS) fails the
  // attach with -EINVAL, as intel_pasid_setup_nested does.
  Status domain_alloc_nested(DomainId id, DomainId parent, const S1Config& s1);
  // The user's cache invalidation of such a domain (iommufd
  // IOMMU_HWPT_INVALIDATE, intel_nested_cache_invalidate_user): the IOTLB
  // and device-TLBs of [iova, iova + size) through its cache tags; size 0
  // is everything.
  Status cache_invalidate_user(DomainId id, sim::Iova iova, uint64_t size);
  Status map(DomainId id, sim::Iova iova, sim::PhysAddr pa, uint64_t size, uint8_t perm);
  Status unmap(DomainId id, sim::Iova iova, uint64_t size);

  // Attachment of a device's requests without PASID (RID; RID_PASID in
  // scalable mode) and of PASIDs.
  Status attach(sim::Sid sid, DomainId id);                     // -EBUSY when attached: use replace
  Status replace(sim::Sid sid, DomainId id);                    // iommufd HWPT replace
  Status detach(sim::Sid sid);                                  // to the blocking domain
  Status set_pasid(sim::Sid sid, uint32_t pasid, DomainId id);  // set or replace
  Status remove_pasid(sim::Sid sid, uint32_t pasid);

  // Live update (DESIGN.md section 12), through the flow. A preserved
  // domain refuses map, unmap and free (-EBUSY); a preserved device every
  // attachment change and release. preserve() needs the device's RID on a
  // preserved domain and no PASID attached besides (-EINVAL).
  Status preserve_domain(DomainId id);
  Status unpreserve_domain(DomainId id);
  Status preserve(sim::Sid sid);
  Status unpreserve(sim::Sid sid);
  // The old kernel's last call: on success *kho is the handover page.
  Status shutdown(sim::PhysAddr* kho);
  // The new kernel's IOMMU init, instead of init(): takes over what the
  // handover page describes. A preserved device gets its restored domain
  // when it is probed (or created as a VF).
  Status restore(sim::PhysAddr kho);
  Status finish();

  // Fault injection: the n-th allocation (1-based) of the next call fails.
  void fail_nth_alloc(uint32_t n) { fail_nth_ = n; }
  uint32_t allocs_in_last_call() const { return calls_[cpu_->id() & 1].allocs; }

  // Public facts (what a caller of the kernel API could know).
  bool has_domain(DomainId id) const { return domains_.count(id) != 0; }
  bool has_device(sim::Sid sid) const;
  uint32_t sva_pasid(DomainId id) const;  // the PASID an SVA domain is bound to
  uint16_t did_of(DomainId id) const;     // 0 while not attached
  // Stage-1 table pages of a nested domain (guest memory the VMM maps at
  // GPA == HPA in the parent, read-only).
  std::vector<sim::PhysAddr> guest_table_pages(DomainId id) const;
  // Locks an op takes (for nested-op feasibility); `domain`/`sid` as the op's args.
  std::vector<sim::LockId> locks_for_map(DomainId id) const;
  std::vector<sim::LockId> locks_for_attach(sim::Sid sid, DomainId id) const;
  // A one-line-per-object dump of the bookkeeping (fail-nth tests compare it).
  std::string dump() const;
  size_t dids_in_use() const { return dids_.in_use(); }

 private:
  struct Domain;
  struct Device;
  struct Attachment;
  class Ctx;
  class GroupLock;
  class Lu;  // lu.cc: the LuCtx of the flow's hooks
  struct Expected {
    DomainId dom = 0;
    bool ats = false, pasid_cap = false;
  };

  Status begin_call();
  bool may_alloc();  // one allocation point: false when fail-nth says so
  sim::PhysAddr alloc_page(sim::PageType t);
  void flush_cpu_cache(sim::PhysAddr pa, size_t len);

  Domain* domain(DomainId id);
  const Domain* domain(DomainId id) const;
  Device* device(sim::Sid sid);
  sim::PhysAddr context_entry_pa(sim::Sid sid) const;
  sim::Entry target_entry(const Device& d, uint32_t pasid, const Domain* dom) const;
  sim::Entry read_entry(sim::EntryKind k, sim::PhysAddr pa);
  Status switch_domain(Ctx& ctx, Device& d, uint32_t pasid, Domain* to);
  Status find_pair(sim::Sid sid, DomainId id, Device** d, Domain** dom);
  Status switch_locked(Device& d, uint32_t pasid, Domain* to);
  Status attachable(const Domain& dom) const;
  bool translation_supported(DomainType type) const;
  Status release_device(Ctx& ctx, Device& d);
  void domain_put(Domain& dom);
  bool frozen(const Domain& d) const;  // preserved or restored, and the flow says so
  Status restore_device(Device& d);    // at probe: the flow attaches the restored domain
  void undo_restored(Device& d);       // ... and its undoing when the call fails
  void read_caps();

  void global_command(uint64_t bit, bool on);  // GCMD TE / QIE

  sim::CpuMemory* cpu_;
  Writer& writer_;
  DriverObserver* observer_ = nullptr;
  Caps caps_;
  uint64_t gcmd_ = 0;  // TE and QIE as last commanded
  uint64_t ecap_ = 0;
  bool five_level_ = false;
  sim::PhysAddr root_ = 0;
  Qi qi_;
  DidAllocator dids_;
  std::map<uint16_t, sim::PhysAddr> context_tables_;  // bus << 1 | upper half
  std::map<uint16_t, std::unique_ptr<Device>> devices_;
  std::map<DomainId, std::unique_ptr<Domain>> domains_;
  uint32_t next_sva_pasid_ = 1;
  LuFlow* flow_ = nullptr;
  // The new kernel: preserved devices still to be probed, by SID.
  std::map<uint16_t, Expected> expected_;
  uint32_t fail_nth_ = 0;  // for the next call
  struct CallState {
    uint32_t allocs = 0;
    uint32_t fail_nth = 0;
  };
  CallState calls_[2];  // per CPU
};

}  // namespace vtd::drv

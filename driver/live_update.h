// Live update (KHO, kexec handover; DESIGN.md section 12, seeds/002 and
// seeds/004): how a kernel preserves what assigned devices translate
// through, hands it to the next kernel across kexec, and how that kernel
// takes it over while the devices keep doing DMA.
//
// A *flow* is the code under test, pluggable like an entry writer: the
// driver (driver.h) runs the iommu-core side of each step (the API's checks
// and bookkeeping) and calls the flow's hook for what a kernel does there:
//   preserve-domain / preserve dev=   which pages and DIDs are kept
//   kexec                             the old kernel's shutdown
//   restore                           the new kernel's IOMMU init
//   probe of a preserved device       attaching the restored domain
//   finish                            the end of the session
// The hooks see the driver through LuCtx (facts and primitive steps, each
// a few CPU stores or one submission), never its private objects. The old
// kernel hands the new one nothing but a KHO page it writes through
// CpuMemory and the new kernel reads back: no C++ object crosses the kexec.
//
// LuFlow's own hooks are the `reference` flow, the seeds' consensus: clear
// the unpreserved devices' context entries, invalidate globally, leave
// translation on (002: "clear out most of the context entries"); track the
// preserved context tables so a later preserve adds to them and an
// unpreserve drops only unused ones (004); take over the root table and
// reclaim the preserved DIDs at IOMMU init; at a preserved device's probe
// attach the restored domain with its entry left as it is (002: "rewrite
// ... with identical content"); finish does nothing (002: "finish should
// never do anything on the restore path"). A catalog flow (B15-B28,
// driver/flows/) overrides one step.
//
// Out-of-tree flows: a class derived from LuFlow in your own .cc,
// registered with VTDFUZZ_REGISTER_LU_FLOW, built with
// -DVTDFUZZ_EXTRA_WRITERS=/path/flow.cc (the same list as writers).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "driver/driver.h"
#include "driver/status.h"
#include "driver/writer.h"
#include "simulator/descriptors.h"
#include "simulator/formats.h"
#include "simulator/memory.h"
#include "simulator/types.h"

namespace vtd::drv {

// A domain as a flow sees it.
struct LuDomain {
  DomainId id = 0;
  DomainType type{};
  int levels = 4;
  sim::PhysAddr root = 0;            // top-level page table
  uint16_t did = 0;                  // 0 while nothing is attached
  std::vector<sim::PhysAddr> pages;  // every page-table page
  bool preserved = false;
};

// A device as a flow sees it.
struct LuDevice {
  sim::Sid sid;
  DomainId domain = 0;           // the RID's domain (0: blocked)
  std::vector<uint32_t> pasids;  // PASIDs attached besides the RID
  bool ats = false, pasid_cap = false, gone = false;
  bool live = false;  // its context entry is present
  bool preserved = false;
  sim::PhysAddr context_table = 0;  // the table holding its context entry (0: none yet)
  bool upper = false;               // scalable: the upper table of its bus (devfn >= 0x80)
  sim::PhysAddr pasid_dir = 0;
  std::vector<sim::PhysAddr> pasid_tables;
};

// A context table of the driver: bus, and in scalable mode which half.
struct LuContextTable {
  uint8_t bus = 0;
  bool upper = false;
  sim::PhysAddr pa = 0;
};

// What the KHO page carries (kho_encode / kho_decode): the root table, and
// the preserved domains and devices.
struct KhoState {
  sim::PhysAddr root = 0;
  struct Dom {
    DomainId id = 0;
    DomainType type{};
    uint8_t levels = 4;
    sim::PhysAddr root = 0;
    uint16_t did = 0;
  };
  struct Dev {
    sim::Sid sid;
    DomainId dom = 0;
    bool ats = false, pasid_cap = false;
  };
  std::vector<Dom> doms;
  std::vector<Dev> devs;
};
// The page's words; false when it does not fit in one page.
bool kho_encode(const KhoState& s, std::vector<uint64_t>* words);
// Reads the page through the CPU; false when it holds no handover.
bool kho_decode(sim::CpuMemory& cpu, sim::PhysAddr page, KhoState* s);

// The driver's services for a flow's hooks.
class LuCtx {
 public:
  virtual ~LuCtx() = default;
  virtual sim::CpuMemory& cpu() = 0;
  virtual const Caps& caps() const = 0;

  // Facts.
  virtual std::vector<LuDevice> devices() const = 0;  // by SID
  virtual bool device(sim::Sid sid, LuDevice* out) const = 0;
  virtual std::vector<LuDomain> domains() const = 0;  // by id
  virtual std::vector<LuContextTable> context_tables() const = 0;
  virtual sim::PhysAddr root_table() const = 0;

  // The old kernel.
  // The iommu lock: no probe, attach or release runs while it is held.
  virtual void lock() = 0;
  virtual void unlock() = 0;
  // The device's context entry made not present (P first, then the rest),
  // written back for a non-coherent unit; no invalidation.
  virtual void clear_context(sim::Sid sid) = 0;
  // The root entry (scalable: the half) leading to a context table.
  virtual void clear_root(uint8_t bus, bool upper) = 0;
  // Global context-cache, PASID-cache and IOTLB invalidation, and the
  // device-TLBs of `devtlb` (every PASID they have attached); waited for
  // unless `wait` is false (then the descriptors are queued, the tail
  // moved, and nothing more).
  virtual Status invalidate_all(const std::vector<sim::Sid>& devtlb, bool wait) = 0;
  virtual void set_translation(bool on) = 0;  // GCMD.TE
  // A KHO page, preserved (an allocation point: 0 when it fails).
  virtual sim::PhysAddr alloc_kho() = 0;

  // The new kernel.
  virtual Status init_queue() = 0;  // a fresh invalidation queue, QIE on
  // The root table in use becomes the driver's (RTADDR untouched); its
  // context tables are read from its entries.
  virtual Status adopt_root(sim::PhysAddr root) = 0;
  // A new, empty root table programmed into RTADDR and latched (SRTP), as
  // a cold boot's init does.
  virtual Status fresh_root() = 0;
  virtual void reserve_did(uint16_t did) = 0;  // the allocator never hands it out
  // A preserved domain, its page tables adopted as they are; `waiting`
  // preserved devices are still to be probed (it cannot be freed before).
  virtual Status restore_domain(const KhoState::Dom& d, uint32_t waiting) = 0;
  virtual void expect_device(const KhoState::Dev& d) = 0;  // restored at its probe
  virtual void free_page(sim::PhysAddr page) = 0;

  // At a preserved device's probe (the device exists, without attachment).
  // Attaches the restored domain in the driver's books: the device's
  // PASID structures are read from its live context entry, the cache tags
  // added. With `fresh_did` the domain is first given a new DID and the
  // entry rewritten with it through the writer.
  virtual Status attach_restored(sim::Sid sid, bool fresh_did) = 0;
  // Where the RID's entry is (PASID entry of RID_PASID, or legacy context
  // entry), what it holds, what the driver would write for its domain.
  virtual EntryRef rid_entry(sim::Sid sid) = 0;
  virtual sim::Entry read_entry(const EntryRef& at) = 0;
  virtual sim::Entry target_entry(sim::Sid sid) = 0;
  // The entry rewritten to `target` through the writer (not a domain change).
  virtual Status rewrite(sim::Sid sid, const sim::Entry& target) = 0;
  // Invalidations of the cached entry and of what was cached through it.
  virtual std::vector<sim::Descriptor> entry_invalidations(const EntryRef& at,
                                                           const sim::Entry& e) = 0;
  virtual Status submit(const std::vector<sim::Descriptor>& batch) = 0;
  virtual void flush_cpu_cache(sim::PhysAddr pa, size_t len) = 0;
  virtual Status detach(sim::Sid sid) = 0;  // the RID to blocked, through the writer
};

class LuFlow {
 public:
  virtual ~LuFlow() = default;

  // ---- the old kernel ----
  // preserve-domain: its page tables kept (the driver then refuses map and
  // unmap on it: -EBUSY). unpreserve-domain: -EBUSY while a preserved
  // device uses it.
  virtual Status preserve_domain(LuCtx& c, const LuDomain& d);
  virtual Status unpreserve_domain(LuCtx& c, const LuDomain& d);
  // Whether map and unmap are refused on a preserved (or restored) domain.
  virtual bool frozen() const { return true; }
  // preserve dev=: the root table, the device's context table, PASID
  // directory and tables (the DID goes in the KHO page at shutdown).
  virtual Status preserve_device(LuCtx& c, const LuDevice& d);
  virtual Status unpreserve_device(LuCtx& c, const LuDevice& d);
  // kexec: the shutdown. Fails (before any store) only when the KHO page
  // cannot be had; *kho is then 0 and nothing changed.
  virtual Status shutdown(LuCtx& c, sim::PhysAddr* kho);

  // ---- the new kernel ----
  virtual Status restore_iommu(LuCtx& c, sim::PhysAddr kho);
  virtual Status restore_device(LuCtx& c, sim::Sid sid);
  virtual Status finish(LuCtx& c);

 protected:
  // Steps of the reference the catalog flows change.
  virtual void quiesce(LuCtx& c) { c.lock(); }
  virtual void unquiesce(LuCtx& c) { c.unlock(); }
  virtual void clear_unpreserved(LuCtx& c);
  virtual void clear_unused_roots(LuCtx& c);
  virtual Status flush_all(LuCtx& c);
  virtual void leave_translation(LuCtx& c) {}  // TE stays on
  virtual Status take_root(LuCtx& c, const KhoState& k) { return c.adopt_root(k.root); }
  virtual void reclaim_dids(LuCtx& c, const KhoState& k);
  virtual Status reclaim_at_probe(LuCtx& c, sim::Sid sid) { return Status::Ok; }
  virtual Status attach_restored(LuCtx& c, sim::Sid sid) { return c.attach_restored(sid, false); }
  virtual Status keep_entry(LuCtx& c, sim::Sid sid);
  // The context tables and root a preserved device needs, with their
  // users counted (004: "we don't track the context_tables that are
  // preserved" is what goes wrong without it).
  virtual void preserve_tables(LuCtx& c, const LuDevice& d);
  virtual void unpreserve_tables(LuCtx& c, const LuDevice& d);
  void keep(LuCtx& c, sim::PhysAddr page);   // one more user of a preserved page
  void drop(LuCtx& c, sim::PhysAddr page);   // one fewer; unpreserved at none
  std::map<sim::PhysAddr, uint32_t> users_;  // root and context tables
  // The decoded handover, kept by restore_iommu for restore_device.
  KhoState restored_;
};

// ------------------------------------------------------------ registry --

using LuFlowInfo = PartInfo<LuFlow>;  // driver/registry.h
using LuFlowFactory = LuFlowInfo::Factory;
using LuFlowRegistrar = Registry<LuFlow>::Registrar;

inline const std::vector<LuFlowInfo>& lu_flows() {  // sorted by name
  return Registry<LuFlow>::all();
}
inline const LuFlowInfo* lu_flow_info(std::string_view name) {
  return Registry<LuFlow>::find(name);
}
inline std::unique_ptr<LuFlow> make_lu_flow(std::string_view name) {
  return Registry<LuFlow>::make(name);
}

// VTDFUZZ_REGISTER_LU_FLOW(MyFlow, "my-flow", "one-line summary"
//                          [, "B15", "P9"]);
#define VTDFUZZ_REGISTER_LU_FLOW(Class, name, ...)                                             \
  static const ::vtd::drv::LuFlowRegistrar VTDFUZZ_WRITER_CAT(vtdfuzz_lu_flow_, __LINE__)(     \
      name, []() -> std::unique_ptr<::vtd::drv::LuFlow> { return std::make_unique<Class>(); }, \
      __VA_ARGS__)

}  // namespace vtd::drv

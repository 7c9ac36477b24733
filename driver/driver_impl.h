// The driver's private state, shared by the files that implement Driver
// (not part of the API: nothing outside driver/ includes it):
//   driver.cc    initialisation, allocation points, lookups, the dump
//   call_ctx.cc  Driver::Ctx, the services of one call (WriterCtx, TableOps)
//   devices.cc   probe, SR-IOV, release, surprise removal
//   domains.cc   domain allocation, map and unmap
//   attach.cc    the entries a device's attachment needs and switch_domain
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "driver/cache_tag.h"
#include "driver/driver.h"
#include "driver/pgtable.h"
#include "driver/writer.h"

namespace vtd::drv {

struct Driver::Domain {
  DomainId id = 0;
  DomainType type = DomainType::SecondStage;
  DomainId parent = 0;
  std::optional<PageTable> pt;  // in place: one allocation less per domain
  bool user_s1 = false;         // nested: stage-1 tables owned by the user (s1), no pt
  S1Config s1;
  uint16_t did = 0;    // allocated at the first attachment (fixed for identity/SVA)
  uint32_t users = 0;  // attachments (device RIDs and PASIDs)
  uint32_t children = 0;
  uint32_t sva_pasid = 0;
  CacheTags tags;
  // Live update: kept for the next kernel (old kernel), or taken over from
  // the previous one with `waiting` preserved devices still to be probed
  // (new kernel); either way immutable while the flow says so.
  bool preserved = false, restored = false;
  uint32_t waiting = 0;
  bool first_stage() const {
    return type == DomainType::FirstStage || type == DomainType::Nested || type == DomainType::Sva;
  }
  bool fixed_did() const { return type == DomainType::Identity || type == DomainType::Sva; }
  // The DID its entries carry (identity and SVA: the default DID).
  uint16_t entry_did() const { return fixed_did() ? DidAllocator::kDefaultDid : did; }
  // Translates through tables (its own or its user's): takes a DID and tags.
  bool has_tables() const { return pt || user_s1; }
};

struct Driver::Device {
  sim::Sid sid;
  DeviceCaps caps;
  bool gone = false;  // surprise-removed: no device-TLB invalidation reaches it
  bool vf = false;
  std::vector<sim::Sid> vfs;
  sim::PhysAddr pasid_dir = 0;
  std::map<uint32_t, sim::PhysAddr> pasid_tables;  // directory index -> PASID table
  bool ctx_live = false;                           // scalable: context entry present
  std::map<uint32_t, DomainId> att;                // PASID (kRidPasid: the RID) -> domain
  bool preserved = false;                          // live update: kept for the next kernel
};

// Services for one call: the WriterCtx of each transition and the TableOps
// of the page tables. The call's temporary DID, if reserved, is freed with it.
class Driver::Ctx final : public WriterCtx, public TableOps {
 public:
  explicit Ctx(Driver& d) : d_(d) {}
  ~Ctx() override;

  // Reserves the call's temporary DID (an allocation point), once per call.
  bool reserve_spare();

  // The entry under change: set by the driver before each Writer::update.
  Device* dev = nullptr;
  EntryRef at;
  Domain* from = nullptr;
  Domain* to = nullptr;

  // WriterCtx
  sim::CpuMemory& cpu() override { return *d_.cpu_; }
  const Caps& caps() const override { return d_.caps_; }
  void lock() override { cpu().lock(lock_id(LockClass::Iommu)); }
  void unlock() override { cpu().unlock(lock_id(LockClass::Iommu)); }
  void flush_cpu_cache(sim::PhysAddr pa, size_t len) override { d_.flush_cpu_cache(pa, len); }
  std::vector<sim::Descriptor> inv_entry_cache(uint16_t did) override;
  std::vector<sim::Descriptor> inv_iotlb(const sim::Entry& e) override;
  std::vector<sim::Descriptor> inv_devtlb() override;
  Status submit(const std::vector<sim::Descriptor>& batch) override;
  void tag_add(Side s, uint16_t did) override { tags(s, did, true); }
  void tag_remove(Side s, uint16_t did) override { tags(s, did, false); }
  uint16_t alloc_did() override;
  void free_did(uint16_t did) override;
  void free_page(sim::PhysAddr pa) override { cpu().free_page(pa); }

  // TableOps
  sim::PhysAddr alloc_table() override { return d_.alloc_page(sim::PageType::PageTable); }
  void free_table(sim::PhysAddr pa) override { cpu().free_page(pa); }
  void publish(sim::PhysAddr slot, uint64_t value) override;

 private:
  void tags(Side s, uint16_t did, bool add);

  Driver& d_;
  uint16_t spare_ = 0;
  bool taken_ = false;
};

// The iommu group mutex, held for the whole of a device call (as the iommu
// core holds group->mutex around attach and release).
class Driver::GroupLock {
 public:
  GroupLock(sim::CpuMemory& cpu, sim::Sid sid) : cpu_(cpu), id_(lock_id(LockClass::Group, sid.v)) {
    cpu_.lock(id_);
  }
  ~GroupLock() { cpu_.unlock(id_); }

 private:
  sim::CpuMemory& cpu_;
  sim::LockId id_;
};

}  // namespace vtd::drv

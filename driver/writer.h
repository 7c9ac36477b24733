// The entry-writer interface: the thing vtdfuzz puts under test.
//
// A writer decides how a new context or PASID entry reaches live memory, in
// which order the invalidations follow, and when the cache tags of the old
// and new domain move. The iommu core (driver.h) calls it for every entry
// change; the oracle never looks inside it, it only watches what the
// hardware sees.
//
// Contract:
//  - update() moves the live entry at t.at from t.old to t.target and returns
//    with the target visible to the hardware (clflush on a non-coherent
//    IOMMU) and every cache that may hold the old value invalidated.
//  - When t.changes_domain, update() calls tag_add(Side::New, t.new_did) and
//    tag_remove(Side::Old, t.old_did) exactly once each (a DID of 0 means
//    "no domain on that side"). Temporary DIDs get tags of their own.
//  - Allocations (alloc_did) happen before the first store; if one fails,
//    return Status::NoMem with nothing changed. After the first store,
//    update() completes and returns Status::Ok.
//  - hitless() is the promise P3 holds the writer to: true means a device
//    translating through the entry never sees it not-present (or faulting on
//    an IOVA mapped alike in old and new) during the update.
//
// Out-of-tree writers: put a class in your own .cc, register it with
// VTDFUZZ_REGISTER_WRITER, and configure with
// -DVTDFUZZ_EXTRA_WRITERS=/path/a.cc (see examples/my_writer.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "driver/registry.h"
#include "driver/status.h"
#include "simulator/descriptors.h"
#include "simulator/formats.h"
#include "simulator/memory.h"
#include "simulator/types.h"

namespace vtd::drv {

// Platform facts a writer may depend on (from CAP/ECAP and the CPU).
struct Caps {
  bool scalable = true;  // scalable-mode translation in use
  bool coherent = true;  // ECAP.C
  bool cm = false;       // CAP.CM: not-present entries may be cached
  bool cpu128 = true;    // cmpxchg16b: 128-bit atomic stores
  bool fetch128 = true;  // the hardware reads 128-bit quanta (the spec's)
  // Words one store changes as the hardware sees it: 2 only when the CPU
  // stores 128 bits atomically and the hardware reads them at once.
  int store_words() const { return cpu128 && fetch128 ? 2 : 1; }
};

constexpr uint32_t kRidPasid = 0;  // IOMMU_NO_PASID: requests without PASID

// Where an entry lives.
struct EntryRef {
  sim::EntryKind kind = sim::EntryKind::PasidEntry;  // LegacyContext, ScalableContext, PasidEntry
  sim::PhysAddr pa = 0;
  sim::Sid sid;
  uint32_t pasid = sim::kNoPasid;  // PASID entries: the PASID (0 = RID_PASID)
};

// One entry change the iommu core asks for.
struct Transition {
  EntryRef at;
  sim::Entry old;     // what the entry holds now
  sim::Entry target;  // what it must hold when update() returns
  uint16_t old_did = 0, new_did = 0;
  bool changes_domain = false;  // the device/PASID moves between domains
};

enum class Side : uint8_t { Old, New };

// Services of the shared machinery, for one transition.
class WriterCtx {
 public:
  virtual ~WriterCtx() = default;
  virtual sim::CpuMemory& cpu() = 0;
  virtual const Caps& caps() const = 0;
  // iommu->lock: held while stores to live entries are made.
  virtual void lock() = 0;
  virtual void unlock() = 0;
  // Makes CPU stores to [pa, pa+len) visible to a non-coherent IOMMU.
  virtual void flush_cpu_cache(sim::PhysAddr pa, size_t len) = 0;
  // Invalidation descriptors for the entry under change (spec 6.5.3.3; the
  // policy is driver/invalidation.h): the context- or PASID-cache entry
  // tagged `did`, the translations cached through entry value `e`
  // (PASID-based for first-stage and pass-through, domain-selective for
  // second-stage and nested), the device-TLB (empty without ATS or when the
  // device is gone).
  virtual std::vector<sim::Descriptor> inv_entry_cache(uint16_t did) = 0;
  virtual std::vector<sim::Descriptor> inv_iotlb(const sim::Entry& e) = 0;
  virtual std::vector<sim::Descriptor> inv_devtlb() = 0;
  // Submits a batch followed by a wait descriptor and waits for it.
  virtual Status submit(const std::vector<sim::Descriptor>& batch) = 0;
  // Cache tags: the DIDs an unmap on the old / new domain flushes for this
  // device and PASID.
  virtual void tag_add(Side s, uint16_t did) = 0;
  virtual void tag_remove(Side s, uint16_t did) = 0;
  // A temporary DID; 0 when none can be allocated.
  virtual uint16_t alloc_did() = 0;
  virtual void free_did(uint16_t did) = 0;
  virtual void free_page(sim::PhysAddr pa) = 0;
};

// What an unmap must do after clearing the page-table entries.
struct UnmapFlush {
  std::vector<sim::Descriptor> iotlb;     // through the domain's cache tags
  std::vector<sim::Descriptor> devtlb;    // device-TLBs of the attached devices
  std::vector<sim::PhysAddr> free_pages;  // page-table pages the unmap emptied
};

class Writer {
 public:
  virtual ~Writer() = default;
  virtual Status update(WriterCtx& ctx, const Transition& t) = 0;
  virtual bool hitless(const Caps& caps, const sim::Entry& old, const sim::Entry& target) const = 0;
  // A platform the flow was never written for makes the driver refuse to
  // initialise (as AMD's driver fails probe without cmpxchg16b).
  virtual bool supports(const Caps& caps) const { return true; }

  // Steps of the shared machinery that some flows change; the defaults
  // follow VTD-REFERENCE.md "What software must do".
  //
  // Publishes a pointer to a newly built table: its contents must be visible
  // before the pointer is (dma_wmb), then the pointer is stored at once.
  virtual void publish_table(WriterCtx& ctx, sim::PhysAddr slot, uint64_t value);
  // After an unmap cleared its PTEs: IOTLB, then device-TLB, then free the
  // emptied page-table pages.
  virtual Status unmap_flush(WriterCtx& ctx, const UnmapFlush& f);
};

// ------------------------------------------------------------ registry --

using WriterInfo = PartInfo<Writer>;  // driver/registry.h
using WriterFactory = WriterInfo::Factory;
using WriterRegistrar = Registry<Writer>::Registrar;

// Every registered writer, sorted by name. Filled once, at static
// initialization, and read-only afterwards.
inline const std::vector<WriterInfo>& writers() {
  return Registry<Writer>::all();
}
inline const WriterInfo* writer_info(std::string_view name) {  // nullptr if unknown
  return Registry<Writer>::find(name);
}
inline std::unique_ptr<Writer> make_writer(std::string_view name) {  // nullptr if unknown
  return Registry<Writer>::make(name);
}

#define VTDFUZZ_WRITER_CAT2(a, b) a##b
#define VTDFUZZ_WRITER_CAT(a, b) VTDFUZZ_WRITER_CAT2(a, b)
// VTDFUZZ_REGISTER_WRITER(MyWriter, "my-writer", "one-line summary"
//                         [, "B5", "P5"]);
// The optional catalog ids and expected verdict ("clean", or "P4|P2": one of
// these properties must be found) feed `vtdfuzz writers` and the campaign.
#define VTDFUZZ_REGISTER_WRITER(Class, name, ...)                                              \
  static const ::vtd::drv::WriterRegistrar VTDFUZZ_WRITER_CAT(vtdfuzz_writer_, __LINE__)(      \
      name, []() -> std::unique_ptr<::vtd::drv::Writer> { return std::make_unique<Class>(); }, \
      __VA_ARGS__)

}  // namespace vtd::drv

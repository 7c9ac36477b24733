// cache-tag-late: the replace of seeds/000 (Samiullah Khawaja's v1): the
// old domain's cache tag is removed before the hardware stops using it and
// the new domain's tag is assigned only after the hardware already uses it
// (Jason Gunthorpe: "it can't be *after* the HW has been programmed to use
// the new tags"). An unmap racing the replace in that window flushes neither
// DID. The entry itself is written correctly (entry-sync).
#include "driver/writers/entry_sync.h"

namespace vtd::drv {

class CacheTagLate : public EntrySync {
 public:
  Status update(WriterCtx& ctx, const Transition& t) override {
    if (t.changes_domain) ctx.tag_remove(Side::Old, t.old_did);
    move(ctx, t.at, t.old, t.target, t.old_did, t.new_did);
    if (t.changes_domain) ctx.tag_add(Side::New, t.new_did);
    return Status::Ok;
  }
};

VTDFUZZ_REGISTER_WRITER(
    CacheTagLate, "cache-tag-late",
    "new domain's cache tag assigned after the hardware uses it, old one removed "
    "before");

// no-pasid-flush (B8): the PASID cache is never invalidated after a PASID
// entry changes; only the IOTLB and device-TLB are.
class NoPasidFlush : public EntrySync {
 protected:
  std::vector<sim::Descriptor> entry_cache(WriterCtx& ctx, uint16_t did) override {
    return ctx.inv_entry_cache(did)[0].type() == sim::kDescPasidCache
               ? std::vector<sim::Descriptor>{}
               : ctx.inv_entry_cache(did);
  }
};

VTDFUZZ_REGISTER_WRITER(NoPasidFlush, "no-pasid-flush",
                        "B8: PASID-cache not invalidated after a PASID entry change");

// did-reuse-noflush (B12): the teardown skips the IOTLB invalidation "since
// the DID is released anyway" — but the DID allocator hands it to the next
// domain without any flush.
class DidReuseNoFlush : public EntrySync {
 protected:
  std::vector<sim::Descriptor> iotlb_after_teardown(WriterCtx&, const sim::Entry&) override {
    return {};
  }
};

VTDFUZZ_REGISTER_WRITER(DidReuseNoFlush, "did-reuse-noflush",
                        "B12: teardown leaves the IOTLB to the DID release, which does not flush");

// no-wmb (B11): a new table is linked into its parent with a plain store
// and no barrier: the pointer may become visible before the contents.
class NoWmb : public EntrySync {
 public:
  void publish_table(WriterCtx& ctx, sim::PhysAddr slot, uint64_t value) override {
    ctx.cpu().write64(slot, value);
    ctx.flush_cpu_cache(slot, 8);
  }
};

VTDFUZZ_REGISTER_WRITER(NoWmb, "no-wmb", "B11: new table published without dma_wmb()");

// devtlb-order (B13): an unmap invalidates the device-TLB before the IOTLB;
// a device refilling in between gets the stale IOTLB entry back.
class DevTlbOrder : public EntrySync {
 public:
  Status unmap_flush(WriterCtx& ctx, const UnmapFlush& f) override {
    std::vector<sim::Descriptor> batch = f.devtlb;
    batch.insert(batch.end(), f.iotlb.begin(), f.iotlb.end());
    Status s = ctx.submit(batch);
    for (sim::PhysAddr p : f.free_pages) ctx.free_page(p);
    return s;
  }
};

VTDFUZZ_REGISTER_WRITER(DevTlbOrder, "devtlb-order",
                        "B13: unmap invalidates the device-TLB before the IOTLB");

// early-free (B14): an unmap frees the emptied page-table pages before the
// IOTLB / paging-structure flush.
class EarlyFree : public EntrySync {
 public:
  Status unmap_flush(WriterCtx& ctx, const UnmapFlush& f) override {
    for (sim::PhysAddr p : f.free_pages) ctx.free_page(p);
    std::vector<sim::Descriptor> batch = f.iotlb;
    batch.insert(batch.end(), f.devtlb.begin(), f.devtlb.end());
    return ctx.submit(batch);
  }
};

VTDFUZZ_REGISTER_WRITER(EarlyFree, "early-free",
                        "B14: page-table pages freed before the IOTLB/paging-structure flush");

}  // namespace vtd::drv

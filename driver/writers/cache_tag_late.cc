// cache-tag-late: the replace of seeds/000 (Samiullah Khawaja's v1): the
// old domain's cache tag is removed before the hardware stops using it and
// the new domain's tag is assigned only after the hardware already uses it
// (Jason Gunthorpe: "it can't be *after* the HW has been programmed to use
// the new tags"). An unmap racing the replace in that window flushes neither
// DID. The entry itself is written correctly (entry-sync).
#include "driver/writers/entry_sync.h"

namespace vtd::drv {

class CacheTagLate : public EntrySync {
 protected:
  // The old tag goes while the hardware may still use the old DID...
  void tags_before(WriterCtx& ctx, const Transition& t) override {
    if (t.changes_domain) ctx.tag_remove(Side::Old, t.old_did);
  }
  // ...and the new one comes once the hardware already uses the new DID.
  void tags_after(WriterCtx& ctx, const Transition& t) override {
    if (t.changes_domain) ctx.tag_add(Side::New, t.new_did);
  }
};

VTDFUZZ_REGISTER_WRITER(
    CacheTagLate, "cache-tag-late",
    "new domain's cache tag assigned after the hardware uses it, old one removed "
    "before",
    "B6", "P4|P2");

}  // namespace vtd::drv

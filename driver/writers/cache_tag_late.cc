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
    "before",
    "B6", "P4|P2");

}  // namespace vtd::drv

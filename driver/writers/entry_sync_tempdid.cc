// entry-sync-tempdid: entry-sync plus a temporary DID when a replace would
// change two quanta only because the DID changes too (first-stage replace:
// DID in chunk 0, FSPTPTR in chunk 1). seeds/001, Jason Gunthorpe: "allocating
// a temporary ID, moving the current entry to the temporary ID, moving to the
// new pointer, moving to the final ID, then flushing the temporary ID" — and
// the temporary DID is tagged on both domains while in use, so an unmap on
// either flushes it ("hook multiple DIDs into the same domain").
#include "driver/writers/entry_sync.h"

namespace vtd::drv {

using sim::Entry;
using sim::Field;

class EntrySyncTempDid : public EntrySync {
 public:
  Status update(WriterCtx& ctx, const Transition& t) override {
    if (!needs_temp(ctx.caps(), t.old, t.target)) return EntrySync::update(ctx, t);
    uint16_t tmp = ctx.alloc_did();
    if (!tmp) return EntrySync::update(ctx, t);  // no spare DID: break instead
    if (t.changes_domain) ctx.tag_add(Side::New, t.new_did);
    ctx.tag_add(Side::Old, tmp);
    ctx.tag_add(Side::New, tmp);
    Entry e1 = t.old, e2 = t.target;
    e1.set(Field::DID, tmp);
    e2.set(Field::DID, tmp);
    move(ctx, t.at, t.old, e1, t.old_did, tmp);     // same table, temporary tag
    move(ctx, t.at, e1, e2, tmp, tmp);              // new table under the temporary tag
    move(ctx, t.at, e2, t.target, tmp, t.new_did);  // final tag; flushes the temporary one
    ctx.tag_remove(Side::Old, tmp);
    ctx.tag_remove(Side::New, tmp);
    if (t.changes_domain) ctx.tag_remove(Side::Old, t.old_did);
    ctx.free_did(tmp);
    return Status::Ok;
  }

  bool hitless(const Caps& caps, const Entry& old, const Entry& target) const override {
    return EntrySync::hitless(caps, old, target) || needs_temp(caps, old, target);
  }

 private:
  // True when entry-sync alone would break but three single-quantum moves
  // through a temporary DID would not.
  static bool needs_temp(const Caps& caps, const Entry& old, const Entry& target) {
    if (!old.present() || !target.present() || !old.has(Field::DID)) return false;
    if (critical(caps, old, target, nullptr, nullptr) <= 1) return false;
    Entry e1 = old, e2 = target;
    e1.set(Field::DID, 0xffff);  // any DID: only which quanta change matters
    e2.set(Field::DID, 0xffff);
    return critical(caps, old, e1, nullptr, nullptr) <= 1 &&
           critical(caps, e1, e2, nullptr, nullptr) <= 1 &&
           critical(caps, e2, target, nullptr, nullptr) <= 1;
  }
};

VTDFUZZ_REGISTER_WRITER(EntrySyncTempDid, "entry-sync-tempdid",
                        "entry-sync plus a temporary DID (tagged on both domains) for DID-changing "
                        "replaces",
                        "", "clean");

}  // namespace vtd::drv

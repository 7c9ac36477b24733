// fs-inplace-did: a first-stage replace done in place — the new FSPTPTR
// (chunk 1) first, then the new DID (chunk 0), then the flush — believed
// hitless. Between the two stores the hardware translates through the new
// table under the old DID and fills the IOTLB with it; every other device
// sharing the old DID then hits those entries (seeds/001, Jason Gunthorpe:
// "you've corrupted the DID and corrupted IOTLB for the second innocent
// device").
#include "driver/writers/atomic128_v1.h"

namespace vtd::drv {

using sim::Entry;
using sim::Field;

class FsInplaceDid : public Atomic128V1 {
 public:
  // Only the in-place first-stage replace is believed hitless; the rest of
  // the driver is the series' (which breaks honestly where it must).
  bool hitless(const Caps&, const Entry& old, const Entry& target) const override {
    return fs_replace(old, target);
  }
  Status update(WriterCtx& ctx, const Transition& t) override {
    if (t.at.kind != sim::EntryKind::PasidEntry || !fs_replace(t.old, t.target)) {
      // Every other replace: teardown + setup, as merged.
      if (!t.old.present() || !t.target.present()) return Atomic128V1::update(ctx, t);
      if (t.changes_domain) ctx.tag_add(Side::New, t.new_did);
      teardown(ctx, t.at, t.old, t.old_did);
      setup(ctx, t.at, t.target, t.new_did);
      if (t.changes_domain) ctx.tag_remove(Side::Old, t.old_did);
      return Status::Ok;
    }
    if (t.changes_domain) ctx.tag_add(Side::New, t.new_did);
    ctx.lock();
    store_chunk(ctx, t.at, t.target, 1);  // FSPTPTR
    store_chunk(ctx, t.at, t.target, 0);  // DID
    ctx.unlock();
    ops::clflush_entry(ctx, t.at);
    ops::flush_old(ctx, t.old, t.old_did);
    if (t.changes_domain) ctx.tag_remove(Side::Old, t.old_did);
    return Status::Ok;
  }

 private:
  static bool fs_replace(const Entry& old, const Entry& target) {
    return old.kind == sim::EntryKind::PasidEntry && old.present() && target.present() &&
           old.get(Field::PGTT) == sim::kPgttFirst && target.get(Field::PGTT) == sim::kPgttFirst;
  }
};

// B5 is DID aliasing (P5); since P1 judges the DID, the entry that pairs
// one DID with the other domain's table is caught first, as a torn entry.
VTDFUZZ_REGISTER_WRITER(FsInplaceDid, "fs-inplace-did",
                        "first-stage replace in place: new table pointer, then new DID, then flush",
                        "B5", "P1|P5");

}  // namespace vtd::drv

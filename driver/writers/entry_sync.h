// entry-sync: the used-bits algorithm (seeds/001: "just use the ARM
// algorithm", arm-smmu-v3 arm_smmu_write_entry). First set every bit the
// current configuration does not use to its target value; if what is left
// changes a single atomic quantum, store it (hitless) and clean up; else
// clear P, flush, fill, set P. Quanta are 128-bit with cmpxchg16b, 64-bit
// without (seeds/001: "fall back to 64 bit operation automatically").
#pragma once

#include <vector>

#include "driver/entry_ops.h"
#include "driver/writer.h"

namespace vtd::drv {

class EntrySync : public Writer {
 public:
  Status update(WriterCtx& ctx, const Transition& t) override;
  bool hitless(const Caps& caps, const sim::Entry& old, const sim::Entry& target) const override;

  // Quanta whose used bits still differ after the unused-bits step; `step1`
  // is that step's value, `which` the last critical quantum.
  static int critical(const Caps& caps, const sim::Entry& cur, const sim::Entry& target,
                      sim::Entry* step1, int* which);

 protected:
  // Moves the live entry from `cur` to `target` (one hitless or breaking
  // sequence), invalidating what hardware may hold of the intermediate
  // values.
  void move(WriterCtx& ctx, const EntryRef& at, const sim::Entry& cur, const sim::Entry& target,
            uint16_t cur_did, uint16_t target_did);
  // Invalidations a flow may change (defaults follow the rules).
  virtual std::vector<sim::Descriptor> entry_cache(WriterCtx& ctx, uint16_t did) {
    return ctx.inv_entry_cache(did);
  }
  virtual std::vector<sim::Descriptor> iotlb_after_teardown(WriterCtx& ctx, const sim::Entry& old) {
    return ctx.inv_iotlb(old);
  }
  // The cache-tag steps around the entry change (Writer contract): the new
  // domain's tag before the hardware can use it, the old domain's after it
  // no longer can (seeds/002). A flow may move them.
  virtual void tags_before(WriterCtx& ctx, const Transition& t) {
    if (t.changes_domain) ctx.tag_add(Side::New, t.new_did);
  }
  virtual void tags_after(WriterCtx& ctx, const Transition& t) {
    if (t.changes_domain) ctx.tag_remove(Side::Old, t.old_did);
  }
  void store_changed(WriterCtx& ctx, const EntryRef& at, const sim::Entry& from,
                     const sim::Entry& to);
};

}  // namespace vtd::drv

// teardown-replace: what was finally merged after seeds/001 — a replace is a
// teardown (clear P, flush, zero) followed by a setup (fill, P last). Never
// hitless, never torn.
#include "driver/writers/atomic128_v1.h"

namespace vtd::drv {

class TeardownReplace : public Atomic128V1 {
 public:
  Status update(WriterCtx& ctx, const Transition& t) override {
    if (t.changes_domain) ctx.tag_add(Side::New, t.new_did);
    if (t.old.present()) teardown(ctx, t.at, t.old, t.old_did);
    if (t.target.present()) setup(ctx, t.at, t.target, t.new_did);
    if (t.changes_domain) ctx.tag_remove(Side::Old, t.old_did);
    return Status::Ok;
  }
  bool hitless(const Caps&, const sim::Entry&, const sim::Entry&) const override { return false; }
  // Falls back to ordered 64-bit halves without cmpxchg16b (seeds/001:
  // "fall back to 64 bit operation automatically").
  bool supports(const Caps&) const override { return true; }
};

VTDFUZZ_REGISTER_WRITER(TeardownReplace, "teardown-replace",
                        "merged flow: replace = teardown (clear P, flush, zero) + setup; never "
                        "hitless");

// no-clflush (B7): the teardown of seeds/001 patch 2 as first posted with
// the clflush dropped: the zeroing moved after the flush, and on a
// non-coherent IOMMU nothing writes it back (Kevin Tian: "an explicit
// clflush is required").
class NoClflush : public TeardownReplace {
 protected:
  void teardown(WriterCtx& ctx, const EntryRef& at, const sim::Entry& old, uint16_t did) override {
    sim::Entry cleared = old;
    cleared.set(sim::Field::P, 0);
    ctx.lock();
    store_chunk(ctx, at, cleared, 0);
    ctx.unlock();
    ops::clflush_entry(ctx, at);
    ops::flush_old(ctx, old, did);
    sim::Entry zero(at.kind);
    for (int c = 0; c < chunks(at); ++c) store_chunk(ctx, at, zero, c);
  }
};

VTDFUZZ_REGISTER_WRITER(NoClflush, "no-clflush",
                        "B7: teardown zeroes the entry after the flush without clflush "
                        "(non-coherent IOMMU keeps the old line)");

}  // namespace vtd::drv

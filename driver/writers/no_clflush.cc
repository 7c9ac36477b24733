// no-clflush (B7): the teardown of seeds/001 patch 2 as first posted with
// the clflush dropped: the zeroing moved after the flush, and on a
// non-coherent IOMMU nothing writes it back (Kevin Tian: "an explicit
// clflush is required").
#include "driver/writers/teardown_replace.h"

namespace vtd::drv {

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
                        "(non-coherent IOMMU keeps the old line)",
                        "B7", "P4");

}  // namespace vtd::drv

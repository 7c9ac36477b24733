// B23: the new kernel attaches the restored domain at probe as it would a
// new one: it gets a fresh DID from an allocator that knows nothing of the
// preserved ones, and the entry is rewritten with it. The fresh DID may be
// one another preserved entry still carries (P11), and a DID change is not
// hitless for every writer (P9).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class RewriteFreshDid final : public LuFlow {
 protected:
  void reclaim_dids(LuCtx&, const KhoState&) override {}
  Status attach_restored(LuCtx& c, sim::Sid sid) override { return c.attach_restored(sid, true); }
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::RewriteFreshDid, "rewrite-fresh-did",
                         "restore rewrites the preserved entry with a fresh DID", "B23", "P11|P9");

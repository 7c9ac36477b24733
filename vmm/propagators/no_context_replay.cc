// B34 no-context-replay: bindings are made on PASID-cache invalidations
// only. A guest that sends the PASID-cache invalidation before making the
// context entry present (and then invalidates the context cache) is left
// unbound: the VMM found no PASID entry the first time and never looks
// again.
#include "vmm/propagators/reference.h"

namespace vtd::vmm {

class NoContextReplay : public Reference {
 protected:
  void context_cache(VmmCtx& ctx, const sim::Descriptor& d) override {
    (void)ctx;
    (void)d;
  }
};

VTDFUZZ_REGISTER_PROPAGATOR(NoContextReplay, "no-context-replay",
                            "bindings not replayed on a context-cache invalidation", "B34", "P13");

}  // namespace vtd::vmm

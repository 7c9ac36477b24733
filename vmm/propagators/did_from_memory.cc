// B33 did-from-memory: a PASID-cache invalidation is matched against the
// DID in the guest's entry as it is now, never the DID the line was cached
// under. A guest that changes an entry's DID in place invalidates with the
// old DID (spec 6.2.1: the line is tagged by it); this VMM skips the line
// and the host keeps the old binding.
#include "vmm/propagators/reference.h"

namespace vtd::vmm {

class DidFromMemory : public Reference {
 protected:
  uint16_t line_did(const Key& k, const sim::Entry& guest) const override {
    (void)k;
    return uint16_t(guest.get(sim::Field::DID));
  }
};

VTDFUZZ_REGISTER_PROPAGATOR(DidFromMemory, "did-from-memory",
                            "invalidation matched by the DID in guest memory, not the cached one",
                            "B33", "P13");

}  // namespace vtd::vmm

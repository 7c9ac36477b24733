// B37 pgtt-as-first-stage: a second-stage or nested guest entry is bound as
// if it were first-stage (a nested HWPT from its FSPTPTR). seeds/003 checks
// "!vtd_pe_pgtt_is_fst(pe) && !vtd_pe_pgtt_is_pt(pe)" before attaching;
// this VMM checks for pass-through only.
#include "vmm/propagators/reference.h"

namespace vtd::vmm {

class PgttAsFirstStage : public Reference {
 protected:
  bool bind(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid, const sim::Entry& pe) override {
    const uint64_t pgtt = pe.get(sim::Field::PGTT);
    if (pgtt != sim::kPgttSecond && pgtt != sim::kPgttNested)
      return Reference::bind(ctx, dev, pasid, pe);
    drv::S1Config s1;
    s1.fsptptr = pe.get(sim::Field::FSPTPTR);
    s1.addr_width = pe.get(sim::Field::FSPM) ? 57 : 48;
    return bind_nested(ctx, dev, pasid, s1);
  }
};

VTDFUZZ_REGISTER_PROPAGATOR(PgttAsFirstStage, "pgtt-as-first-stage",
                            "second-stage or nested PGTT treated as first-stage", "B37", "P13");

}  // namespace vtd::vmm

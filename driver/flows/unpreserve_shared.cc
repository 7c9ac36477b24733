// B24: unpreserve does not count users (seeds/004: context tables "neither
// tracked nor refcounted"): unpreserving one device drops the context table
// and root another preserved device still uses, and unpreserve-domain drops
// a domain a preserved device is attached to. Those pages are freed at
// kexec while the hardware still walks them (P10).
#include "driver/live_update.h"

namespace vtd::drv {
namespace {

class UnpreserveShared final : public LuFlow {
 protected:
  Status unpreserve_domain(LuCtx& c, const LuDomain& d) override {
    for (sim::PhysAddr p : d.pages) c.cpu().kho_preserve(p, false);
    return Status::Ok;
  }
  void unpreserve_tables(LuCtx& c, const LuDevice& d) override {
    if (d.context_table) c.cpu().kho_preserve(d.context_table, false);
  }
};

}  // namespace
}  // namespace vtd::drv

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::UnpreserveShared, "unpreserve-shared",
                         "unpreserve drops a table or domain another preserved device uses", "B24",
                         "P10");

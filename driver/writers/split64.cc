// split64 (B10): the series' 128-bit stores on a CPU without cmpxchg16b,
// done as two plain 64-bit stores with no ordering step between them.
#include "driver/writers/atomic128_v1.h"

namespace vtd::drv {

using sim::Entry;

class Split64 : public Atomic128V1 {
 public:
  bool supports(const Caps&) const override { return true; }

 protected:
  void store_chunk(WriterCtx& ctx, const EntryRef& at, const Entry& v, int c) override {
    ctx.cpu().write64(at.pa + 16ull * c, v.w[2 * c]);
    ctx.cpu().write64(at.pa + 16ull * c + 8, v.w[2 * c + 1]);
  }
};

VTDFUZZ_REGISTER_WRITER(Split64, "split64",
                        "B10: 128-bit entry chunks written as two plain 64-bit stores, no ordering",
                        "B10", "P1");

}  // namespace vtd::drv

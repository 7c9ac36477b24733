// An out-of-tree entry writer: how to put your own update algorithm under
// vtdfuzz without editing the tree.
//
//   cmake --preset release -DVTDFUZZ_EXTRA_WRITERS=$PWD/examples/my_writer.cc
//   cmake --build --preset release
//   ./vtdfuzz writers                         # lists my-writer
//   ./vtdfuzz hunt --target ops --writer my-writer --time 60
//   ./vtdfuzz transitions --writer my-writer
//
// Only the public headers are used: driver/writer.h (the interface and its
// contract) and driver/entry_ops.h (optional building blocks).
//
// This one keeps the entry present whenever a single atomic store can do the
// whole change — a 128-bit context entry, or a PASID entry change confined
// to one 128-bit chunk — and otherwise tears down (clear P, flush, zero) and
// sets up again. It is correct, and hitless exactly where one store suffices.
#include "driver/entry_ops.h"
#include "driver/writer.h"

namespace {

using vtd::drv::Caps;
using vtd::drv::Side;
using vtd::drv::Status;
using vtd::drv::Transition;
using vtd::drv::WriterCtx;
using vtd::sim::Entry;
namespace ops = vtd::drv::ops;

class MyWriter : public vtd::drv::Writer {
 public:
  Status update(WriterCtx& ctx, const Transition& t) override {
    if (t.changes_domain) ctx.tag_add(Side::New, t.new_did);  // before hardware can use it
    int q = single_quantum(ctx.caps(), t.old, t.target);
    if (t.old.present() && t.target.present() && q >= 0) {
      ctx.lock();
      ops::store_quantum(ctx, t.at, t.target, q);
      ctx.unlock();
      ops::clflush_entry(ctx, t.at);
      ops::flush_old(ctx, t.old, t.old_did);  // old entry cache, IOTLB, device-TLB
    } else {
      if (t.old.present()) ops::teardown(ctx, t.at, t.old, t.old_did);
      if (t.target.present()) ops::setup(ctx, t.at, Entry(t.at.kind), t.target, t.new_did);
    }
    if (t.changes_domain) ctx.tag_remove(Side::Old, t.old_did);  // after it stopped using it
    return Status::Ok;
  }

  bool hitless(const Caps& caps, const Entry& old, const Entry& target) const override {
    return old.present() && target.present() && single_quantum(caps, old, target) >= 0;
  }

 private:
  // The one atomic-store quantum that differs, or -1.
  static int single_quantum(const Caps& caps, const Entry& a, const Entry& b) {
    int found = -1;
    for (int q = 0; q < ops::quanta(caps, a.kind); ++q) {
      if (!ops::quantum_differs(caps, a, b, q)) continue;
      if (found >= 0) return -1;
      found = q;
    }
    return found;
  }
};

VTDFUZZ_REGISTER_WRITER(MyWriter, "my-writer",
                        "example out-of-tree writer: one atomic store when it suffices, else "
                        "teardown + setup");

}  // namespace

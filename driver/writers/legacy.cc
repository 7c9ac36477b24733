// legacy: the driver before the atomicity fixes (seeds/001 and seeds/002).
// Context entries are cleared and built in place with plain 64-bit
// read-modify-writes (context_clear_entry, context_set_*); a PASID entry is
// replaced by a 64-byte struct copy while present (`*pte = new_pte`) and
// torn down by zeroing it while P=1 (pasid_clear_entry). A replaced legacy
// context entry is flushed the way a newly present one is
// (context_present_cache_flush: DID 0, caching mode only).
#include "driver/entry_ops.h"
#include "driver/writer.h"

namespace vtd::drv {

using sim::Entry;
using sim::Field;
using sim::PhysAddr;

class Legacy : public Writer {
 public:
  Status update(WriterCtx& ctx, const Transition& t) override {
    if (t.changes_domain) ctx.tag_add(Side::New, t.new_did);
    switch (t.at.kind) {
      case sim::EntryKind::LegacyContext:
      case sim::EntryKind::ScalableContext:
        context(ctx, t);
        break;
      default:
        pasid(ctx, t);
        break;
    }
    if (t.changes_domain) ctx.tag_remove(Side::Old, t.old_did);
    return Status::Ok;
  }
  bool hitless(const Caps&, const Entry& old, const Entry& target) const override {
    return old.present() && target.present();  // "already supports replacing hitlessly"
  }

 private:
  // One field setter: a plain read-modify-write of one word.
  static void rmw(WriterCtx& ctx, PhysAddr pa, uint64_t clear, uint64_t set) {
    uint64_t v = ctx.cpu().read64(pa);
    ctx.cpu().write64(pa, (v & ~clear) | set);
  }

  void context(WriterCtx& ctx, const Transition& t) {
    const PhysAddr lo = t.at.pa, hi = t.at.pa + 8;
    const Entry& e = t.target;
    ctx.lock();
    ctx.cpu().write64(lo, 0);  // context_clear_entry()
    ctx.cpu().write64(hi, 0);
    if (e.present()) {
      if (e.kind == sim::EntryKind::LegacyContext) {
        rmw(ctx, hi, 0, e.w[1] & (0xffffull << 8));  // context_set_domain_id()
        rmw(ctx, lo, 0, e.get(Field::SSPTPTR));      // context_set_address_root()
        rmw(ctx, hi, 0, e.w[1] & 7);                 // context_set_address_width()
        rmw(ctx, lo, 0, e.w[0] & 0xc);               // context_set_translation_type()
      } else {
        rmw(ctx, lo, 0, e.w[0] & ~0x1full);  // PASIDDIRPTR | PDTS
        rmw(ctx, hi, 0, e.w[1]);             // context_set_sm_rid2pasid()
        rmw(ctx, lo, 0, e.w[0] & 0x1c);      // DTE, PASIDE, PRE
      }
      rmw(ctx, lo, 2, 0);  // context_set_fault_enable()
      rmw(ctx, lo, 0, 1);  // context_set_present()
    }
    ctx.unlock();
    ops::clflush_entry(ctx, t.at);
    if (!e.present()) {
      ops::flush_old(ctx, t.old, t.old_did);  // domain_context_clear_one()
    } else if (ctx.caps().cm) {
      ctx.submit({sim::desc::context_device(0, t.at.sid), sim::desc::iotlb_domain(t.new_did)});
    }
  }

  void pasid(WriterCtx& ctx, const Transition& t) {
    ctx.lock();
    if (!t.old.present()) {
      ops::store_once(ctx, t.at, t.target, true);  // setters (WRITE_ONCE), P last
    } else if (t.target.present()) {
      ops::store_plain(ctx, t.at, t.target, 8);  // *pte = new_pte
    } else {
      ops::store_once(ctx, t.at, Entry(t.at.kind), false);  // pasid_clear_entry() while P=1
    }
    ctx.unlock();
    ops::clflush_entry(ctx, t.at);
    if (t.old.present())
      ops::flush_old(ctx, t.old, t.old_did);
    else
      ops::flush_new_if_cm(ctx, t.target, t.new_did);
  }
};

VTDFUZZ_REGISTER_WRITER(Legacy, "legacy",
                        "before the atomicity fixes: entries built in place with plain 64-bit "
                        "stores, PASID entry zeroed / struct-copied while present",
                        "B1 B2 B3 B9", "P1");

}  // namespace vtd::drv

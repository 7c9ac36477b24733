#include "driver/writers/entry_sync.h"

namespace vtd::drv {

using sim::Entry;
using sim::Field;

int EntrySync::critical(const Caps& caps, const Entry& cur, const Entry& target, Entry* step1,
                        int* which) {
  const Entry used_cur = sim::used_bits(cur), used_tgt = sim::used_bits(target);
  const int words = ops::entry_words(cur.kind);
  Entry s = cur;
  for (int i = 0; i < words; ++i)
    s.w[i] = (cur.w[i] & used_cur.w[i]) | (target.w[i] & ~used_cur.w[i]);
  int n = 0;
  const int per = caps.store_words();
  for (int q = 0; q < words / per; ++q) {
    bool diff = false;
    for (int i = q * per; i < (q + 1) * per; ++i)
      diff |= (s.w[i] & used_tgt.w[i]) != (target.w[i] & used_tgt.w[i]);
    if (diff) {
      ++n;
      if (which) *which = q;
    }
  }
  if (step1) *step1 = s;
  return n;
}

bool EntrySync::hitless(const Caps& caps, const Entry& old, const Entry& target) const {
  if (!old.present() || !target.present()) return false;
  return critical(caps, old, target, nullptr, nullptr) <= 1;
}

void EntrySync::store_changed(WriterCtx& ctx, const EntryRef& at, const Entry& from,
                              const Entry& to) {
  ctx.lock();
  for (int q = ops::quanta(ctx.caps(), at.kind) - 1; q >= 0; --q)
    if (ops::quantum_differs(ctx.caps(), from, to, q)) ops::store_quantum(ctx, at, to, q);
  ctx.unlock();
  ops::clflush_entry(ctx, at);
}

void EntrySync::move(WriterCtx& ctx, const EntryRef& at, const Entry& cur, const Entry& target,
                     uint16_t cur_did, uint16_t target_did) {
  if (cur == target) return;
  const Caps& caps = ctx.caps();
  if (!cur.present()) {  // P last: quantum 0 is stored last by store_changed
    store_changed(ctx, at, cur, target);
    if (caps.cm)
      ctx.submit(ops::join(
          {entry_cache(ctx, ops::not_present_did(target, target_did)), ctx.inv_iotlb(target)}));
    return;
  }
  Entry step1;
  int q = 0;
  int n = target.present() ? critical(caps, cur, target, &step1, &q) : 2;
  if (n <= 1) {
    // 1: bits the hardware ignores now take their target values.
    Entry now = step1;
    if (!(now == cur)) {
      store_changed(ctx, at, cur, now);
      ctx.submit(entry_cache(ctx, cur_did));
    }
    // 2: the one quantum that switches the configuration.
    if (n == 1) {
      Entry next = now;
      const int per = caps.store_words();
      for (int i = q * per; i < (q + 1) * per; ++i) next.w[i] = target.w[i];
      store_changed(ctx, at, now, next);
      std::vector<sim::Descriptor> inv = entry_cache(ctx, cur_did);
      if (target_did != cur_did) inv = ops::join({inv, entry_cache(ctx, target_did)});
      ctx.submit(ops::join({inv, ctx.inv_iotlb(cur), ctx.inv_devtlb()}));
      now = next;
    }
    // 3: clean up the bits the target does not use.
    if (!(now == target)) {
      store_changed(ctx, at, now, target);
      ctx.submit(entry_cache(ctx, target_did));
    }
    return;
  }
  // Breaking: not present, flushed, filled, present.
  Entry cleared = cur;
  cleared.set(Field::P, 0);
  store_changed(ctx, at, cur, cleared);
  ctx.submit(
      ops::join({entry_cache(ctx, cur_did), iotlb_after_teardown(ctx, cur), ctx.inv_devtlb()}));
  store_changed(ctx, at, cleared, target);
  if (target.present() && caps.cm)
    ctx.submit(ops::join(
        {entry_cache(ctx, ops::not_present_did(target, target_did)), ctx.inv_iotlb(target)}));
}

Status EntrySync::update(WriterCtx& ctx, const Transition& t) {
  tags_before(ctx, t);
  move(ctx, t.at, t.old, t.target, t.old_did, t.new_did);
  tags_after(ctx, t);
  return Status::Ok;
}

VTDFUZZ_REGISTER_WRITER(
    EntrySync, "entry-sync",
    "used-bits algorithm (ARM entry_set): one critical quantum or V=0/fill/V=1; "
    "128- and 64-bit quanta",
    "", "clean");

}  // namespace vtd::drv

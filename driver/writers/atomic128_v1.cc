#include "driver/writers/atomic128_v1.h"

namespace vtd::drv {

using sim::Entry;
using sim::Field;

void Atomic128V1::store_chunk(WriterCtx& ctx, const EntryRef& at, const Entry& v, int c) {
  sim::PhysAddr pa = at.pa + 16ull * c;
  if (ctx.caps().cpu128) {
    ctx.cpu().write128(pa, v.w[2 * c], v.w[2 * c + 1]);
  } else {  // the series requires cmpxchg16b; without it: ordered halves
    ctx.cpu().write64_once(pa + 8, v.w[2 * c + 1]);
    ctx.cpu().write64_once(pa, v.w[2 * c]);
  }
}

void Atomic128V1::setup(WriterCtx& ctx, const EntryRef& at, const Entry& target, uint16_t did) {
  ctx.lock();
  for (int c = chunks(at) - 1; c >= 0; --c) store_chunk(ctx, at, target, c);  // P last
  ctx.unlock();
  ops::clflush_entry(ctx, at);
  ops::flush_new_if_cm(ctx, target, did);
}

void Atomic128V1::teardown(WriterCtx& ctx, const EntryRef& at, const Entry& old, uint16_t did) {
  Entry cleared = old;
  cleared.set(Field::P, 0);
  ctx.lock();
  store_chunk(ctx, at, cleared, 0);  // pasid_clear_present()
  ctx.unlock();
  ops::clflush_entry(ctx, at);
  ops::flush_old(ctx, old, did);
  Entry zero(at.kind);
  for (int c = 0; c < chunks(at); ++c) store_chunk(ctx, at, zero, c);  // intel_pasid_clear_entry()
  ops::clflush_entry(ctx, at);
}

int Atomic128V1::hitless_chunk(const Entry& old, const Entry& target) {
  auto same = [&](int c) {
    return old.w[2 * c] == target.w[2 * c] && old.w[2 * c + 1] == target.w[2 * c + 1];
  };
  switch (target.get(Field::PGTT)) {
    case sim::kPgttFirst:
    case sim::kPgttNested:
      return same(0) ? 1 : -1;  // "the first 128 bits remain the same"
    case sim::kPgttSecond:
    case sim::kPgttPassThrough:
      return same(1) ? 0 : -1;
    default:
      return -1;
  }
}

Status Atomic128V1::update(WriterCtx& ctx, const Transition& t) {
  if (t.changes_domain) ctx.tag_add(Side::New, t.new_did);
  if (!t.old.present()) {
    setup(ctx, t.at, t.target, t.new_did);
  } else if (!t.target.present()) {
    teardown(ctx, t.at, t.old, t.old_did);
  } else if (t.at.kind != sim::EntryKind::PasidEntry) {
    // A context entry is one 128-bit chunk: replaced with one store.
    ctx.lock();
    store_chunk(ctx, t.at, t.target, 0);
    ctx.unlock();
    ops::clflush_entry(ctx, t.at);
    ops::flush_old(ctx, t.old, t.old_did);
  } else if (int c = hitless_chunk(t.old, t.target); c >= 0) {
    ctx.lock();
    store_chunk(ctx, t.at, t.target, c);
    ctx.unlock();
    ops::clflush_entry(ctx, t.at);
    ops::flush_old(ctx, t.old, t.old_did);  // intel_pasid_flush_present(old_did)
  } else {
    teardown(ctx, t.at, t.old, t.old_did);
    setup(ctx, t.at, t.target, t.new_did);
  }
  if (t.changes_domain) ctx.tag_remove(Side::Old, t.old_did);
  return Status::Ok;
}

VTDFUZZ_REGISTER_WRITER(Atomic128V1, "atomic128-v1",
                        "seeds/001 series: 128-bit context stores, clear-P/flush/zero teardown, "
                        "hitless replace only when one 128-bit chunk changes",
                        "B4", "P3");

}  // namespace vtd::drv

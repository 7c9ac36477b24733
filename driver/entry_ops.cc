#include "driver/entry_ops.h"

namespace vtd::drv::ops {

using sim::Entry;
using sim::EntryKind;

int entry_words(EntryKind k) {
  return k == EntryKind::PasidEntry ? 4 : 2;
}

int quanta(const Caps& caps, EntryKind k) {
  return entry_words(k) / caps.store_words();
}

void store_quantum(WriterCtx& ctx, const EntryRef& at, const Entry& v, int q) {
  if (ctx.caps().store_words() == 2)
    ctx.cpu().write128(at.pa + 16ull * q, v.w[2 * q], v.w[2 * q + 1]);
  else
    ctx.cpu().write64_once(at.pa + 8ull * q, v.w[q]);
}

bool quantum_differs(const Caps& caps, const Entry& a, const Entry& b, int q) {
  int n = caps.store_words();
  for (int i = 0; i < n; ++i)
    if (a.w[q * n + i] != b.w[q * n + i]) return true;
  return false;
}

void store_plain(WriterCtx& ctx, const EntryRef& at, const Entry& v, int words) {
  for (int i = 0; i < words; ++i) ctx.cpu().write64(at.pa + 8ull * i, v.w[i]);
}

void store_once(WriterCtx& ctx, const EntryRef& at, const Entry& v, bool p_last) {
  int n = sim::format_of(at.kind).words;
  for (int i = p_last ? 1 : 0; i < n; ++i) ctx.cpu().write64_once(at.pa + 8ull * i, v.w[i]);
  if (p_last) ctx.cpu().write64_once(at.pa, v.w[0]);
}

void clflush_entry(WriterCtx& ctx, const EntryRef& at) {
  ctx.flush_cpu_cache(at.pa, 8ull * sim::format_of(at.kind).words);
}

std::vector<sim::Descriptor> join(std::initializer_list<std::vector<sim::Descriptor>> parts) {
  std::vector<sim::Descriptor> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Status flush_old(WriterCtx& ctx, const Entry& old, uint16_t old_did) {
  return ctx.submit(join({ctx.inv_entry_cache(old_did), ctx.inv_iotlb(old), ctx.inv_devtlb()}));
}

Status flush_new_if_cm(WriterCtx& ctx, const Entry& now, uint16_t did) {
  if (!ctx.caps().cm) return Status::Ok;
  return ctx.submit(join({ctx.inv_entry_cache(not_present_did(now, did)), ctx.inv_iotlb(now)}));
}

uint16_t not_present_did(const Entry& now, uint16_t did) {
  return now.kind == EntryKind::LegacyContext ? 0 : did;
}

void teardown(WriterCtx& ctx, const EntryRef& at, const Entry& old, uint16_t old_did) {
  Entry cleared = old;
  cleared.set(sim::Field::P, 0);
  ctx.lock();
  store_quantum(ctx, at, cleared, 0);
  ctx.unlock();
  clflush_entry(ctx, at);
  flush_old(ctx, old, old_did);
  // The hardware let go of the entry: the rest may be zeroed in any order.
  Entry zero(at.kind);
  for (int q = 0; q < quanta(ctx.caps(), at.kind); ++q)
    if (quantum_differs(ctx.caps(), cleared, zero, q)) store_quantum(ctx, at, zero, q);
  clflush_entry(ctx, at);
}

void setup(WriterCtx& ctx, const EntryRef& at, const Entry& cur, const Entry& target,
           uint16_t did) {
  ctx.lock();
  int n = quanta(ctx.caps(), at.kind);
  for (int q = 1; q < n; ++q)
    if (quantum_differs(ctx.caps(), cur, target, q)) store_quantum(ctx, at, target, q);
  store_quantum(ctx, at, target, 0);  // P last; atomic stores keep program order
  ctx.unlock();
  clflush_entry(ctx, at);
  flush_new_if_cm(ctx, target, did);
}

}  // namespace vtd::drv::ops

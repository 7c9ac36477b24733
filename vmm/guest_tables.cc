#include "vmm/guest_tables.h"

#include "simulator/registers.h"

namespace vtd::vmm {

using sim::Entry;
using sim::EntryKind;
using sim::Field;
using sim::PhysAddr;

namespace {

Entry read(VmmCtx& ctx, EntryKind k, PhysAddr pa) {
  Entry e(k);
  for (size_t i = 0; i < sim::format_of(k).words; ++i) e.w[i] = ctx.read_guest(pa + 8 * i);
  return e;
}

// The guest's scalable-mode context entry of `sid`, if present and well-formed.
bool context_of(VmmCtx& ctx, sim::Sid sid, Entry* out) {
  if (!ctx.scalable()) return false;
  const PhysAddr root = ctx.rtaddr() & ~(sim::kPageSize - 1);
  if (!root) return false;
  const Entry r = read(ctx, EntryKind::ScalableRoot, root + 16ull * sid.bus());
  const bool upper = sid.devfn() >= 128;
  if (!r.get(upper ? Field::UP : Field::LP)) return false;
  const PhysAddr table = r.get(upper ? Field::UCTP : Field::LCTP);
  *out = read(ctx, EntryKind::ScalableContext, table + 32ull * (sid.devfn() & 0x7f));
  return out->present() && sim::decode(*out) == sim::FaultReason::None;
}

// The PASID table for directory index `dir` (0 when not present).
PhysAddr table_of(VmmCtx& ctx, const Entry& context, uint32_t dir) {
  if (dir >= (1u << (context.get(Field::PDTS) + 7))) return 0;
  const Entry d = read(ctx, EntryKind::PasidDir, context.get(Field::PASIDDIRPTR) + 8ull * dir);
  return d.present() ? d.get(Field::SMPTBLPTR) : 0;
}

}  // namespace

bool guest_pasid_entry(VmmCtx& ctx, sim::Sid sid, uint32_t pasid, Entry* out) {
  Entry c;
  if (!context_of(ctx, sid, &c)) return false;
  const PhysAddr table = table_of(ctx, c, pasid >> 6);
  if (!table) return false;
  *out = read(ctx, EntryKind::PasidEntry, table + 64ull * (pasid & 0x3f));
  return true;
}

std::vector<uint32_t> guest_pasids(VmmCtx& ctx, sim::Sid sid) {
  std::vector<uint32_t> out;
  Entry c;
  if (!context_of(ctx, sid, &c)) return out;
  // Up to 2^14 directory entries (PDTS 7), most of them zero: a word equal
  // to the one before names the same table (or none).
  const uint32_t n = 1u << (c.get(Field::PDTS) + 7);
  const PhysAddr dirptr = c.get(Field::PASIDDIRPTR);
  uint64_t last = 0;
  PhysAddr table = 0;
  for (uint32_t dir = 0; dir < n; ++dir) {
    const uint64_t w = ctx.read_guest(dirptr + 8ull * dir);
    if (dir == 0 || w != last) {
      const Entry d = sim::entry_from_words(EntryKind::PasidDir, {&w, 1});
      table = d.present() ? d.get(Field::SMPTBLPTR) : 0;
      last = w;
    }
    if (!table) continue;
    for (uint32_t i = 0; i < 64; ++i)
      if (ctx.read_guest(table + 64ull * i) & 1) out.push_back(dir << 6 | i);
  }
  return out;
}

HostRequest request_of(const Entry& pe) {
  HostRequest r;
  const uint64_t pgtt = pe.get(Field::PGTT);
  if (pgtt == sim::kPgttPassThrough) {
    r.kind = HostRequest::Parent;
  } else if (pgtt == sim::kPgttFirst && pe.get(Field::FSPM) <= 1) {
    r.kind = HostRequest::Nested;
    r.s1.fsptptr = pe.get(Field::FSPTPTR);
    r.s1.addr_width = pe.get(Field::FSPM) ? 57 : 48;
    r.s1.flags = (pe.get(Field::SRE) ? drv::kS1Sre : 0) | (pe.get(Field::WPE) ? drv::kS1Wpe : 0) |
                 (pe.get(Field::EAFE) ? drv::kS1Eafe : 0);
  }
  return r;
}

}  // namespace vtd::vmm

#include "oracle/reference.h"

#include <algorithm>

#include "simulator/registers.h"

namespace vtd::oracle {

using sim::Entry;
using sim::EntryKind;
using sim::Field;

namespace {
Entry read_words(const sim::PhysMemory& mem, EntryKind k, sim::PhysAddr pa, bool epoch) {
  Entry e(k);
  for (size_t i = 0; i < sim::format_of(k).fetch_words; ++i)
    e.w[i] = epoch ? mem.epoch_value(pa + 8 * i) : mem.hw_load(pa + 8 * i);
  return e;
}
}  // namespace

Entry read_now(const sim::PhysMemory& mem, const EntryLoc& at) {
  // A structure that was freed holds no entry any more: not present.
  if (!at.pa || mem.type(at.pa) == sim::PageType::Free) return Entry(at.kind);
  return read_words(mem, at.kind, at.pa, false);
}

Entry read_epoch(const sim::PhysMemory& mem, const EntryLoc& at) {
  return at.pa ? read_words(mem, at.kind, at.pa, true) : Entry(at.kind);
}

Located locate(const sim::PhysMemory& mem, uint64_t rtaddr, sim::Sid sid, uint32_t pasid,
               std::vector<sim::PhysAddr>* reads) {
  auto read = [&](sim::PhysAddr pa) {
    if (reads && pa) reads->push_back(sim::page_of(pa));
  };
  Located out;
  const bool sm = rtaddr & sim::rtaddr::TTM_SCALABLE;
  const sim::PhysAddr root = rtaddr & ~(sim::kPageSize - 1);
  if (!root) return out;
  out.root = {sm ? EntryKind::ScalableRoot : EntryKind::LegacyRoot, root + 16ull * sid.bus()};
  read(root);
  Entry r = read_words(mem, out.root.kind, out.root.pa, false);
  if (!sm) {
    if (!r.present() || mem.hw_poisoned(root)) return out;
    out.context = {EntryKind::LegacyContext, r.get(Field::CTP) + 16ull * sid.devfn()};
    read(out.context.pa);
    return out;
  }
  bool upper = sid.devfn() >= 128;
  if (!r.get(upper ? Field::UP : Field::LP)) return out;
  out.context = {EntryKind::ScalableContext,
                 r.get(upper ? Field::UCTP : Field::LCTP) + 32ull * (sid.devfn() & 0x7f)};
  read(out.context.pa);
  Entry c = read_now(mem, out.context);
  if (!c.present() || sim::decode(c) != sim::FaultReason::None) return out;
  uint32_t p = pasid == sim::kNoPasid ? uint32_t(c.get(Field::RID_PASID)) : pasid;
  if ((p >> 6) >= (1u << (c.get(Field::PDTS) + 7))) return out;
  sim::PhysAddr dir = c.get(Field::PASIDDIRPTR) + 8ull * (p >> 6);
  read(dir);
  Entry d = read_words(mem, EntryKind::PasidDir, dir, false);
  if (!d.present() || sim::decode(d) != sim::FaultReason::None) return out;
  out.pasid = {EntryKind::PasidEntry, d.get(Field::SMPTBLPTR) + 64ull * (p & 0x3f)};
  read(out.pasid.pa);
  return out;
}

void ReadSet::done() {
  std::sort(pages_.begin(), pages_.end());
  pages_.erase(std::unique(pages_.begin(), pages_.end()), pages_.end());
}

bool ReadSet::unchanged(const sim::PhysMemory& mem) const {
  return std::all_of(pages_.begin(), pages_.end(),
                     [&](sim::PhysAddr p) { return mem.hw_version(p) <= version_; });
}

}  // namespace vtd::oracle

#include "simulator/table_builder.h"

#include "simulator/registers.h"

namespace vtd::sim {

uint8_t aw_for_levels(uint8_t levels) {
  return uint8_t(levels - 2);
}
uint8_t fspm_for_levels(uint8_t levels) {
  return levels == 5 ? 1 : 0;
}

PhysAddr data_page(uint32_t n) {
  return PhysMemory::Layout{}.data_base + uint64_t(n) * kPageSize;
}

PageTables PageTables::via() const {
  PageTables s;
  s.first_stage = false;
  s.levels = via_levels;
  s.root = via_root;
  return s;
}

TableBuilder::TableBuilder(Machine& m, int cpu) : TableBuilder(m, m.config().scalable, cpu) {}

TableBuilder::TableBuilder(Machine& m, bool scalable, int cpu)
    : m_(m), scalable_(scalable), cpu_(cpu), flush_(!m.config().coherent) {}

PhysAddr TableBuilder::alloc(PageType t) {
  PhysAddr pa = cpu().alloc_page(t);
  if (pa && flush_) cpu().clflush(pa, kPageSize);
  return pa;
}

void TableBuilder::write_entry(PhysAddr pa, const Entry& e, StoreKind k) {
  if (!pa) return;
  const size_t words = e.words();
  SimCpu& c = cpu();
  switch (k) {
    case StoreKind::Plain64:
      for (size_t i = 0; i < words; ++i) c.write64(pa + 8 * i, e.w[i]);
      break;
    case StoreKind::Once64:
      for (size_t i = 0; i < words; ++i) c.write64_once(pa + 8 * i, e.w[i]);
      break;
    case StoreKind::Atomic128:
      if (words == 1) {
        c.write64_once(pa, e.w[0]);
        break;
      }
      for (size_t i = 0; i + 1 < words; i += 2) c.write128(pa + 8 * i, e.w[i], e.w[i + 1]);
      break;
  }
  if (flush_) c.clflush(pa, 8 * words);
}

Entry TableBuilder::read_entry(EntryKind k, PhysAddr pa) {
  Entry e(k);
  for (size_t i = 0; i < e.words(); ++i) e.w[i] = cpu().read64(pa + 8 * i);
  return e;
}

Entry TableBuilder::hw_entry(EntryKind k, PhysAddr pa) const {
  Entry e(k);
  for (size_t i = 0; i < e.words(); ++i) e.w[i] = m_.mem.hw_load(pa + 8 * i);
  return e;
}

// ------------------------------------------------------------- root, context

PhysAddr TableBuilder::root_table() {
  if (!root_) {
    root_ = alloc(PageType::Root);
    cpu().mmio_write(Reg::RTADDR, root_ | (scalable_ ? rtaddr::TTM_SCALABLE : 0));
    // Latch it and enable translation, keeping the queue's state (spec
    // 11.4.4: every GCMD write states TE and QIE).
    const uint64_t qie = cpu().mmio_read(Reg::GSTS) & gsts::QIES ? gcmd::QIE : 0;
    cpu().mmio_write(Reg::GCMD, qie | gcmd::SRTP | gcmd::TE);
  }
  return root_;
}

PhysAddr TableBuilder::root_entry_pa(uint8_t bus) {
  return root_table() + 16 * uint64_t(bus);
}

PhysAddr TableBuilder::context_table(uint8_t bus, bool upper) {
  if (!scalable_) upper = false;
  auto it = ctx_tables_.find({bus, upper});
  if (it != ctx_tables_.end()) return it->second;
  PhysAddr ct = alloc(PageType::Context);
  ctx_tables_[{bus, upper}] = ct;
  PhysAddr re_pa = root_entry_pa(bus);
  if (scalable_) {
    Entry re = read_entry(EntryKind::ScalableRoot, re_pa);
    re.set(upper ? Field::UP : Field::LP, 1).set(upper ? Field::UCTP : Field::LCTP, ct);
    write_entry(re_pa, re);
  } else {
    Entry re(EntryKind::LegacyRoot);
    re.set(Field::P, 1).set(Field::CTP, ct);
    write_entry(re_pa, re);
  }
  return ct;
}

PhysAddr TableBuilder::context_entry_pa(Sid sid) {
  if (scalable_)
    return context_table(sid.bus(), sid.devfn() >= 128) + 32 * uint64_t(sid.devfn() & 0x7f);
  return context_table(sid.bus()) + 16 * uint64_t(sid.devfn());
}

PhysAddr TableBuilder::set_context(Sid sid, const LegacyContextFields& f) {
  PhysAddr pa = context_entry_pa(sid);
  write_entry(pa, encode(f));
  return pa;
}

PhysAddr TableBuilder::set_context(Sid sid, ScalableContextFields f) {
  if (!f.pasiddirptr) f.pasiddirptr = pasid_dir(sid);
  PhysAddr pa = context_entry_pa(sid);
  write_entry(pa, encode(f));
  return pa;
}

// ------------------------------------------------------------ PASID structures

PhysAddr TableBuilder::pasid_dir(Sid sid) {
  auto it = pasid_dirs_.find(sid.v);
  if (it != pasid_dirs_.end()) return it->second;
  PhysAddr d = alloc(PageType::PasidDir);
  pasid_dirs_[sid.v] = d;
  return d;
}

PhysAddr TableBuilder::pasid_dir_entry_pa(Sid sid, uint32_t pasid) {
  if (pasid >= kMaxPasid) return 0;
  return pasid_dir(sid) + 8 * uint64_t(pasid >> 6);
}

PhysAddr TableBuilder::pasid_table(Sid sid, uint32_t pasid) {
  if (pasid >= kMaxPasid) return 0;
  const uint32_t idx = pasid >> 6;
  auto it = pasid_tables_.find({sid.v, idx});
  if (it != pasid_tables_.end()) return it->second;
  PhysAddr t = alloc(PageType::PasidTable);
  pasid_tables_[{sid.v, idx}] = t;
  Entry de(EntryKind::PasidDir);
  de.set(Field::P, 1).set(Field::SMPTBLPTR, t);
  write_entry(pasid_dir_entry_pa(sid, pasid), de);
  return t;
}

PhysAddr TableBuilder::pasid_entry_pa(Sid sid, uint32_t pasid) {
  PhysAddr t = pasid_table(sid, pasid);
  return t ? t + 64 * uint64_t(pasid & 0x3f) : 0;
}

PhysAddr TableBuilder::set_pasid_entry(Sid sid, uint32_t pasid, const Entry& e, StoreKind k) {
  PhysAddr pa = pasid_entry_pa(sid, pasid);
  write_entry(pa, e, k);
  return pa;
}

PhysAddr TableBuilder::set_pasid_entry(Sid sid, uint32_t pasid, const PasidEntryFields& f,
                                       StoreKind k) {
  return set_pasid_entry(sid, pasid, encode(f), k);
}

// ------------------------------------------------------------------ page tables

PageTables TableBuilder::new_tables(bool first_stage, uint8_t levels) {
  PageTables t;
  t.first_stage = first_stage;
  t.levels = levels;
  t.root = alloc(PageType::PageTable);
  return t;
}

PageTables TableBuilder::new_nested_tables(uint8_t levels, const PageTables& ss,
                                           uint64_t gpa_offset) {
  PageTables t = new_tables(true, levels);
  t.via_root = ss.root;
  t.via_levels = ss.levels;
  t.gpa_offset = gpa_offset;
  map(ss, t.ptr(), t.root);
  return t;
}

Entry TableBuilder::table_pointer(const PageTables& t, PhysAddr child_ptr) const {
  Entry e(t.pte_kind());
  if (t.first_stage)
    e.set(Field::P, 1).set(Field::RW, 1).set(Field::US, 1);
  else
    e.set(Field::R, 1).set(Field::W, 1);
  return e.set(Field::ADDR, child_ptr);
}

Entry TableBuilder::leaf(const PageTables& t, PhysAddr pa, MapOpts opts) const {
  Entry e(t.pte_kind());
  if (t.first_stage)
    e.set(Field::P, 1).set(Field::RW, opts.writable).set(Field::US, 1);
  else
    e.set(Field::R, 1).set(Field::W, opts.writable);
  e.set(Field::PS, opts.level > 1);
  return e.set(Field::ADDR, pa & ~(level_span(opts.level) - 1));
}

void TableBuilder::map(const PageTables& t, Iova iova, PhysAddr pa, MapOpts opts) {
  const uint64_t off = t.nested() ? t.gpa_offset : 0;
  // Writes are collected top-down and issued bottom-up, so a new table is
  // filled before the pointer that publishes it is written (as a driver
  // must: the hardware may walk at any time).
  std::vector<std::pair<PhysAddr, Entry>> writes;
  PhysAddr table = t.root;
  for (int level = t.levels; level > opts.level; --level) {
    PhysAddr pte = table + 8 * uint64_t(level_index(iova, level));
    Entry e = read_entry(t.pte_kind(), pte);
    bool large = e.get(Field::PS) && level <= 3;
    if (e.present() && !large) {
      table = e.get(Field::ADDR) - off;
      continue;
    }
    PhysAddr child = alloc(PageType::PageTable);
    if (t.nested()) map(t.via(), child + off, child);
    writes.push_back({pte, table_pointer(t, child + off)});
    table = child;
  }
  writes.push_back({table + 8 * uint64_t(level_index(iova, opts.level)), leaf(t, pa, opts)});
  for (auto it = writes.rbegin(); it != writes.rend(); ++it) write_entry(it->first, it->second);
}

PhysAddr TableBuilder::pte_pa(const PageTables& t, Iova iova, uint8_t level) {
  const uint64_t off = t.nested() ? t.gpa_offset : 0;
  PhysAddr table = t.root;
  for (int l = t.levels; l > level; --l) {
    Entry e = read_entry(t.pte_kind(), table + 8 * uint64_t(level_index(iova, l)));
    if (!e.present() || (e.get(Field::PS) && l <= 3)) return 0;
    table = e.get(Field::ADDR) - off;
  }
  return table + 8 * uint64_t(level_index(iova, level));
}

// ----------------------------------------------------------------- entry shapes

PasidEntryFields TableBuilder::pasid_fields(uint8_t pgtt, uint16_t did, const PageTables* ss,
                                            const PageTables* fs) {
  PasidEntryFields f;
  f.pgtt = pgtt;
  f.did = did;
  if (ss) {
    f.aw = aw_for_levels(ss->levels);
    f.ssptptr = ss->ptr();
  }
  if (fs) {
    f.fspm = fspm_for_levels(fs->levels);
    f.fsptptr = fs->ptr();
  }
  return f;
}

LegacyContextFields TableBuilder::legacy_fields(uint8_t tt, uint16_t did, const PageTables& ss) {
  LegacyContextFields f;
  f.tt = tt;
  f.did = did;
  f.aw = aw_for_levels(ss.levels);
  f.ssptptr = ss.ptr();
  return f;
}

}  // namespace vtd::sim

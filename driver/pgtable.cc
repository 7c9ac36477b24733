#include "driver/pgtable.h"

#include <algorithm>

#include "simulator/formats.h"

namespace vtd::drv {

using sim::level_index;
using sim::level_span;
using sim::PhysAddr;

namespace {
constexpr uint64_t kPs = 1ull << 7;  // large page, both formats
int leaf_level_for(uint64_t size) {
  switch (size) {
    case 4096:
      return 1;
    case 2ull << 20:
      return 2;
    case 1ull << 30:
      return 3;
    default:
      return 0;
  }
}

// The tables one map allocates (one per level below the present ones, at
// most four under a 5-level root): on the stack, not the heap.
struct Fresh {
  PhysAddr v[4];
  size_t n = 0;
  void push_back(PhysAddr t) { v[n++] = t; }
  size_t size() const { return n; }
  PhysAddr front() const { return v[0]; }
  PhysAddr back() const { return v[n - 1]; }
  PhysAddr operator[](size_t i) const { return v[i]; }
  const PhysAddr* begin() const { return v; }
  const PhysAddr* end() const { return v + n; }
};
}  // namespace

uint64_t PageTable::leaf_pte(PhysAddr pa, int level, uint8_t perm) const {
  // second-stage: R 0, W 1; first-stage: P 0, R/W 1 (VTD-REFERENCE.md)
  uint64_t v = pa | 1 | ((perm & 2) ? 2 : 0);
  if (level > 1) v |= kPs;
  return v;
}

uint64_t PageTable::table_pte(PhysAddr table) const {
  return table | 3;
}

bool PageTable::pte_present(uint64_t pte) const {
  return first_stage_ ? (pte & 1) : (pte & 3);
}

bool PageTable::pte_leaf(uint64_t pte, int level) const {
  return level == 1 || (pte & kPs);
}

Status PageTable::init(TableOps& ops) {
  root_ = ops.alloc_table();
  if (!root_) return Status::NoMem;
  ops.flush_cpu_cache(root_, sim::kPageSize);
  tables_[root_] = Table{levels_, 0, 0};
  return Status::Ok;
}

void PageTable::adopt(sim::CpuMemory& cpu, PhysAddr root) {
  tables_.clear();
  root_ = root;
  adopt_table(cpu, root, levels_, 0);
}

void PageTable::adopt_table(sim::CpuMemory& cpu, PhysAddr table, int level, PhysAddr slot) {
  Table t{level, slot, 0};
  for (uint32_t i = 0; i < sim::kPageSize / 8; ++i) {
    const PhysAddr at = table + 8 * uint64_t(i);
    const uint64_t pte = cpu.read64(at);
    if (!pte_present(pte)) continue;
    ++t.present;
    if (!pte_leaf(pte, level)) adopt_table(cpu, pte_addr(pte), level - 1, at);
  }
  tables_[table] = t;
}

std::vector<PhysAddr> PageTable::pages() const {
  std::vector<PhysAddr> v;
  for (auto& [pa, t] : tables_) v.push_back(pa);
  return v;
}

Status PageTable::map(TableOps& ops, sim::Iova iova, PhysAddr pa, uint64_t size, uint8_t perm) {
  int leaf = leaf_level_for(size);
  if (!leaf || leaf >= levels_ || (iova | pa) & (size - 1) || iova + size > limit() || !perm)
    return Status::Inval;
  sim::CpuMemory& cpu = ops.cpu();
  PhysAddr table = root_;
  int level = levels_;
  for (; level > leaf; --level) {
    uint64_t pte = cpu.read64(table + 8 * level_index(iova, level));
    if (!pte_present(pte)) break;
    if (pte_leaf(pte, level)) return Status::Exist;
    table = pte_addr(pte);
  }
  PhysAddr slot = table + 8 * level_index(iova, level);
  if (level == leaf) {
    if (pte_present(cpu.read64(slot))) return Status::Exist;
    cpu.write64_once(slot, leaf_pte(pa, leaf, perm));  // a live table: one store
    ops.flush_cpu_cache(slot, 8);
    ++tables_[table].present;
    return Status::Ok;
  }
  // Allocate every missing table first: a failure changes nothing.
  Fresh fresh;
  for (int l = level - 1; l >= leaf; --l) {
    PhysAddr t = ops.alloc_table();
    if (!t) {
      for (PhysAddr f : fresh) ops.free_table(f);
      return Status::NoMem;
    }
    fresh.push_back(t);
  }
  // Build the new subtree bottom-up while nothing points at it...
  PhysAddr deepest = fresh.back();
  cpu.write64(deepest + 8 * level_index(iova, leaf), leaf_pte(pa, leaf, perm));
  tables_[deepest] = Table{leaf, 0, 1};
  for (size_t i = fresh.size() - 1; i > 0; --i) {
    int l = level - int(i);  // level of fresh[i-1]
    PhysAddr s = fresh[i - 1] + 8 * level_index(iova, l);
    cpu.write64(s, table_pte(fresh[i]));
    tables_[fresh[i]].slot = s;
    tables_[fresh[i - 1]] = Table{l, 0, 1};
  }
  for (PhysAddr f : fresh) ops.flush_cpu_cache(f, sim::kPageSize);
  // ...then publish it with one store.
  tables_[fresh.front()].slot = slot;
  ++tables_[table].present;
  ops.publish(slot, table_pte(fresh.front()));
  return Status::Ok;
}

Status PageTable::prealloc(TableOps& ops, sim::Iova limit) {
  sim::CpuMemory& cpu = ops.cpu();
  for (sim::Iova a = 0; a < limit; a += level_span(2)) {
    PhysAddr table = root_;
    int level = levels_;
    for (; level > 1; --level) {
      uint64_t pte = cpu.read64(table + 8 * level_index(a, level));
      if (!pte_present(pte)) break;
      table = pte_addr(pte);
    }
    if (level == 1) continue;
    Fresh fresh;
    for (int l = level - 1; l >= 1; --l) {
      PhysAddr t = ops.alloc_table();
      if (!t) {
        for (PhysAddr f : fresh) ops.free_table(f);
        return Status::NoMem;
      }
      fresh.push_back(t);
    }
    tables_[fresh.back()] = Table{1, 0, 0};
    for (size_t i = fresh.size() - 1; i > 0; --i) {
      int l = level - int(i);
      PhysAddr s = fresh[i - 1] + 8 * level_index(a, l);
      cpu.write64(s, table_pte(fresh[i]));
      tables_[fresh[i]].slot = s;
      tables_[fresh[i - 1]] = Table{l, 0, 1};
    }
    for (PhysAddr f : fresh) ops.flush_cpu_cache(f, sim::kPageSize);
    PhysAddr slot = table + 8 * level_index(a, level);
    tables_[fresh.front()].slot = slot;
    ++tables_[table].present;
    ops.publish(slot, table_pte(fresh.front()));
  }
  return Status::Ok;
}

PageTable::Unmapped PageTable::unmap(TableOps& ops, sim::Iova iova, uint64_t size,
                                     bool keep_tables) {
  Unmapped u;
  sim::CpuMemory& cpu = ops.cpu();
  sim::Iova end = std::min<uint64_t>(iova + size, limit());
  bool any = false;
  for (sim::Iova a = iova; a < end;) {
    PhysAddr table = root_;
    int level = levels_;
    for (;; --level) {
      PhysAddr slot = table + 8 * level_index(a, level);
      uint64_t pte = cpu.read64(slot);
      sim::Iova base = a & ~(level_span(level) - 1);
      if (!pte_present(pte)) {
        a = base + level_span(level);
        break;
      }
      if (!pte_leaf(pte, level)) {
        table = pte_addr(pte);
        continue;
      }
      cpu.write64_once(slot, 0);
      ops.flush_cpu_cache(slot, 8);
      u.lo = any ? std::min(u.lo, base) : base;
      u.hi = std::max(u.hi, base + level_span(level));
      any = true;
      --tables_[table].present;
      // Unlink tables this emptied; they are freed after the flush.
      for (PhysAddr t = table; !keep_tables && t != root_ && tables_[t].present == 0;) {
        PhysAddr parent_slot = tables_[t].slot;
        cpu.write64_once(parent_slot, 0);
        ops.flush_cpu_cache(parent_slot, 8);
        u.empty_tables.push_back(t);
        tables_.erase(t);
        t = sim::page_of(parent_slot);
        --tables_[t].present;
      }
      a = base + level_span(level);
      break;
    }
  }
  return u;
}

void PageTable::destroy(TableOps& ops) {
  for (auto& [pa, t] : tables_) ops.free_table(pa);
  tables_.clear();
  root_ = 0;
}

}  // namespace vtd::drv

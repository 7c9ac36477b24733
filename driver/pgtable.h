// I/O page tables built in simulated memory, second-stage or first-stage
// format, 3 to 5 levels, 4 KiB / 2 MiB / 1 GiB pages (VTD-REFERENCE.md
// "Page tables"). A map allocates every missing table before it stores
// anything, builds the new subtree bottom-up and publishes it with one
// store (Writer::publish_table); an unmap clears leaves, unlinks tables it
// emptied and hands them back to be freed only after the flush.
#pragma once

#include <cstdint>
#include <vector>

#include "driver/status.h"
#include "simulator/flat_map.h"
#include "simulator/memory.h"
#include "simulator/types.h"

namespace vtd::drv {

// What a page table needs from its owner.
class TableOps {
 public:
  virtual ~TableOps() = default;
  virtual sim::CpuMemory& cpu() = 0;
  virtual sim::PhysAddr alloc_table() = 0;  // 0 on failure (an allocation point)
  virtual void free_table(sim::PhysAddr pa) = 0;
  virtual void flush_cpu_cache(sim::PhysAddr pa, size_t len) = 0;
  virtual void publish(sim::PhysAddr slot, uint64_t value) = 0;
};

class PageTable {
 public:
  PageTable(bool first_stage, int levels) : first_stage_(first_stage), levels_(levels) {}

  Status init(TableOps& ops);  // allocates the root
  // Live update: takes over the tables rooted at `root` as they are in
  // memory (read through the CPU), instead of init().
  void adopt(sim::CpuMemory& cpu, sim::PhysAddr root);
  // Allocates the tables the IOVA range [0, limit) needs down to the leaf
  // level, so later 4 KiB maps there never allocate (nested stage-1).
  Status prealloc(TableOps& ops, sim::Iova limit);

  // size: 4 KiB, 2 MiB or 1 GiB; iova and pa aligned to it.
  Status map(TableOps& ops, sim::Iova iova, sim::PhysAddr pa, uint64_t size, uint8_t perm);

  struct Unmapped {
    sim::Iova lo = 0, hi = 0;                 // the range whose leaves were cleared
    std::vector<sim::PhysAddr> empty_tables;  // unlinked, to free after the flush
  };
  // Clears every mapping that intersects [iova, iova+size).
  Unmapped unmap(TableOps& ops, sim::Iova iova, uint64_t size, bool keep_tables);

  void destroy(TableOps& ops);  // frees every table page

  sim::PhysAddr root() const { return root_; }
  int levels() const { return levels_; }
  bool first_stage() const { return first_stage_; }
  uint64_t limit() const { return 1ull << (12 + 9 * levels_); }
  std::vector<sim::PhysAddr> pages() const;

 private:
  struct Table {
    int level = 0;
    sim::PhysAddr slot = 0;  // the parent entry pointing here (0 for the root)
    uint32_t present = 0;    // present entries
  };
  void adopt_table(sim::CpuMemory& cpu, sim::PhysAddr table, int level, sim::PhysAddr slot);
  uint64_t leaf_pte(sim::PhysAddr pa, int level, uint8_t perm) const;
  uint64_t table_pte(sim::PhysAddr table) const;
  bool pte_present(uint64_t pte) const;
  bool pte_leaf(uint64_t pte, int level) const;
  sim::PhysAddr pte_addr(uint64_t pte) const { return pte & 0x000ffffffffff000ull; }

  bool first_stage_;
  int levels_;
  sim::PhysAddr root_ = 0;
  sim::FlatMap<sim::PhysAddr, Table> tables_;  // by address, as std::map was
};

}  // namespace vtd::drv

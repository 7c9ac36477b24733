// Builds VT-d translation structures in a simulated Machine through CPU
// stores (SimCpu), the way a driver would: root table + RTADDR, legacy or
// scalable context entries, PASID directory and tables, and second-/first-
// stage page tables with 3/4/5 levels and 2 MiB / 1 GiB pages.
//
// Entries are built with the Entry/Field API of simulator/formats.h. With no
// schedule attached every store is visible at once; on a non-coherent
// platform (Config::coherent = false) the builder clflushes what it writes
// unless told not to, so the hardware sees it.
//
// Not part of the hardware model: a library of its own (vtd_table_builder)
// for the test suites and `vtdfuzz bench`.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "simulator/formats.h"
#include "simulator/machine.h"

namespace vtd::sim {

// AW (second stage) and FSPM (first stage) encodings for a table depth.
uint8_t aw_for_levels(uint8_t levels);    // 3 -> 1, 4 -> 2, 5 -> 3
uint8_t fspm_for_levels(uint8_t levels);  // 4 -> 0, 5 -> 1

// The DMA data region (PhysMemory::Layout::data_base, 1024 pages).
PhysAddr data_page(uint32_t n);

// One page-table hierarchy: a value, the tables live in the Machine.
struct PageTables {
  bool first_stage = false;
  uint8_t levels = 4;
  PhysAddr root = 0;  // host-physical address of the top-level table
  // Nested first stage (PGTT=3): table pages are addressed by
  // GPA = HPA + gpa_offset, and the second stage rooted at via_root
  // (via_levels deep) maps each such GPA to its HPA.
  PhysAddr via_root = 0;
  uint8_t via_levels = 0;
  uint64_t gpa_offset = 0;

  bool nested() const { return via_root != 0; }
  // The pointer an entry holds for this hierarchy (a GPA when nested).
  PhysAddr ptr() const { return root + (nested() ? gpa_offset : 0); }
  EntryKind pte_kind() const { return first_stage ? EntryKind::FsPte : EntryKind::SsPte; }
  PageTables via() const;  // the second stage that translates table GPAs
};

struct MapOpts {
  uint8_t level = 1;  // 1: 4 KiB, 2: 2 MiB, 3: 1 GiB (PS=1)
  bool writable = true;
};

enum class StoreKind : uint8_t {
  Plain64,    // write64 per word (plain C stores)
  Once64,     // write64_once per word
  Atomic128,  // write128 per 128-bit chunk (write64_once for a lone 64-bit word)
};

class TableBuilder {
 public:
  // Mode from the platform config (Config::scalable); cpu 0 or 1.
  explicit TableBuilder(Machine& m, int cpu = 0);
  TableBuilder(Machine& m, bool scalable, int cpu = 0);

  Machine& machine() { return m_; }
  SimCpu& cpu() { return m_.cpu(cpu_); }
  bool scalable() const { return scalable_; }
  // clflush after every entry write and on every fresh page (default: on
  // when the platform is non-coherent).
  void set_flush(bool on) { flush_ = on; }
  bool flush() const { return flush_; }

  // Allocates a page (and, when flushing, writes its zeroes back).
  PhysAddr alloc(PageType t);

  // Writes all words of `e` (format_of(e.kind).words) at pa.
  void write_entry(PhysAddr pa, const Entry& e, StoreKind k = StoreKind::Plain64);
  // The entry at pa as the CPU sees it / as the hardware would read it.
  Entry read_entry(EntryKind k, PhysAddr pa);
  Entry hw_entry(EntryKind k, PhysAddr pa) const;

  // --- root and context ---------------------------------------------------
  // The root table; programs RTADDR (with TTM=scalable in scalable mode) on
  // first use.
  PhysAddr root_table();
  PhysAddr root_entry_pa(uint8_t bus);
  // The context table for a bus (scalable: lower/upper half by devfn); the
  // root entry is made present on first use.
  PhysAddr context_table(uint8_t bus, bool upper = false);
  PhysAddr context_entry_pa(Sid sid);
  EntryKind context_kind() const {
    return scalable_ ? EntryKind::ScalableContext : EntryKind::LegacyContext;
  }
  PhysAddr set_context(Sid sid, const LegacyContextFields& f);
  // pasiddirptr == 0 selects the builder's PASID directory for sid.
  PhysAddr set_context(Sid sid, ScalableContextFields f);

  // --- PASID directory and tables (scalable) --------------------------------
  // One directory page per device: PASIDs below 512 * 64 (PDTS <= 2).
  static constexpr uint32_t kMaxPasid = 512 * 64;
  PhysAddr pasid_dir(Sid sid);
  PhysAddr pasid_dir_entry_pa(Sid sid, uint32_t pasid);
  // The PASID table page holding `pasid`; its directory entry is made
  // present on first use. 0 when pasid >= kMaxPasid.
  PhysAddr pasid_table(Sid sid, uint32_t pasid);
  PhysAddr pasid_entry_pa(Sid sid, uint32_t pasid);
  PhysAddr set_pasid_entry(Sid sid, uint32_t pasid, const Entry& e,
                           StoreKind k = StoreKind::Plain64);
  PhysAddr set_pasid_entry(Sid sid, uint32_t pasid, const PasidEntryFields& f,
                           StoreKind k = StoreKind::Plain64);

  // --- page tables ------------------------------------------------------------
  PageTables new_tables(bool first_stage, uint8_t levels);
  // A first stage whose table pages are GPAs translated by `ss`.
  PageTables new_nested_tables(uint8_t levels, const PageTables& ss, uint64_t gpa_offset);
  // Maps iova -> pa (pa aligned down to the page size of opts.level).
  // Missing intermediate tables are allocated; a large page in the way is
  // replaced by a table.
  void map(const PageTables& t, Iova iova, PhysAddr pa, MapOpts opts = {});
  // Host-physical address of the entry for iova at `level`; 0 when an upper
  // level does not lead there.
  PhysAddr pte_pa(const PageTables& t, Iova iova, uint8_t level);

  // --- entry shapes -------------------------------------------------------------
  // A PASID entry of the given type for the given tables (AW from ss,
  // FSPM and FSPTPTR from fs; either may be null).
  static PasidEntryFields pasid_fields(uint8_t pgtt, uint16_t did, const PageTables* ss,
                                       const PageTables* fs);
  static LegacyContextFields legacy_fields(uint8_t tt, uint16_t did, const PageTables& ss);

 private:
  Entry table_pointer(const PageTables& t, PhysAddr child_ptr) const;
  Entry leaf(const PageTables& t, PhysAddr pa, MapOpts opts) const;

  Machine& m_;
  bool scalable_;
  int cpu_;
  bool flush_;
  PhysAddr root_ = 0;
  std::map<std::pair<uint8_t, bool>, PhysAddr> ctx_tables_;
  std::map<uint16_t, PhysAddr> pasid_dirs_;
  std::map<std::pair<uint16_t, uint32_t>, PhysAddr> pasid_tables_;
};

}  // namespace vtd::sim

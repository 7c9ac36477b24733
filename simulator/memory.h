// Physical memory and the CPU side of it.
//
// PhysMemory holds typed 4 KiB pages with two views: the coherent view (what
// CPUs read once a store is globally visible) and, when the IOMMU is not
// coherent (ECAP.C=0), the DRAM view the page walker reads, which lags until a
// line is written back (clflush or a schedule-chosen eviction).
//
// Two variants of the page store, one interface (this file); one is linked
// (simulator/CMakeLists.txt):
//  - the model (memory_model.cc): pages are made when first allocated or
//    stored to, the hardware reads a quantum word by word;
//  - real memory (memory_real.cc, VTDFUZZ_REAL_MEMORY=ON, the tsan preset):
//    every page is made up front and a quantum is one atomic load, so that
//    real threads (race/) can walk while others store. Single-threaded
//    behaviour is the same.
//
// CpuMemory is the only interface the driver gets. SimCpu implements it for
// the model: plain stores may become visible in any order between ordering
// points (the compiler may reorder them, seeds/001), WRITE_ONCE-class and
// 128-bit stores keep program order among themselves (x86 TSO).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "simulator/registers.h"
#include "simulator/schedule.h"
#include "simulator/types.h"

namespace vtd::sim {

// Value a freed page holds: P=1 with reserved bits set in every format, so
// that a walker reading it faults and the read is flagged (P6).
constexpr uint64_t kPoison = 0xdead5a5a5a5adeadull;

// Identifies the CPU store that last wrote a word: cpu in bits 31:28,
// program-order sequence number below. 0 means "not written by a CPU".
using StoreTag = uint32_t;
inline int tag_cpu(StoreTag t) {
  return int(t >> 28);
}
inline uint32_t tag_seq(StoreTag t) {
  return t & 0x0fffffffu;
}

class PagePool;

class PhysMemory {
 public:
  struct Layout {
    PhysAddr data_base = 0x00080000;  // DMA data region (typed Data), 4 MiB
    uint32_t data_pages = 1024;
    PhysAddr pool_base = 0x01000000;  // page allocator pool for tables and queues
    uint32_t pool_pages = 2048;
  };

  // `pages` (may be null): where pages come from and go back to when this
  // memory is destroyed; see PagePool.
  PhysMemory(bool coherent, Layout layout, PagePool* pages = nullptr);
  explicit PhysMemory(bool coherent) : PhysMemory(coherent, Layout{}) {}
  ~PhysMemory();
  PhysMemory(const PhysMemory&) = delete;
  PhysMemory& operator=(const PhysMemory&) = delete;

  const Layout& layout() const { return layout_; }
  bool coherent() const { return coherent_; }

  // Allocation: deterministic, freed pages are reused last-in first-out.
  // Returns 0 when the pool is exhausted. The page reads as zero to the CPU;
  // on a non-coherent IOMMU its lines stay dirty (DRAM keeps the poison)
  // until written back.
  PhysAddr alloc(PageType t);
  void free(PhysAddr page);  // poisons both views, type becomes Free
  PageType type(PhysAddr pa) const;
  // Counts the allocations of a page: a cached pointer that recorded an
  // older generation points into a page that was freed and reused.
  uint32_t generation(PhysAddr pa) const;
  bool is_data(PhysAddr pa) const;
  size_t pages_in_use() const { return in_use_; }
  uint64_t epoch_allocs() const { return epoch_allocs_; }

  // Coherent view (CPU loads once the store is globally visible).
  uint64_t load(PhysAddr pa) const;
  void commit(PhysAddr pa, uint64_t v, StoreTag tag);  // a CPU store becomes visible
  StoreTag last_tag(PhysAddr pa) const;

  // Non-coherent write-back state (always clean when coherent).
  bool line_dirty(PhysAddr pa) const;
  void writeback(PhysAddr pa);                         // writes back the 64-byte line holding pa
  std::vector<PhysAddr> dirty_lines() const;           // pool pages only (translation structures)
  void dirty_lines(std::vector<PhysAddr>* out) const;  // the same into a reused buffer
  size_t dirty_count() const { return dirty_count_; }

  // Hardware view.
  uint64_t hw_load(PhysAddr pa) const;
  // One hardware read quantum: `nwords` (1 or 2) words from pa. Word by word
  // in the model; one atomic load (128 bit: 16-byte aligned) in real memory.
  void hw_load_quantum(PhysAddr pa, int nwords, uint64_t* out) const;
  // True when the hardware view of this word is poison: a freed page, or a
  // non-coherent line of a fresh page never written back.
  bool hw_poisoned(PhysAddr pa) const;
  void hw_store(PhysAddr pa, uint64_t v);  // DMA or status write: both views
  // Counts the changes to what hw_load, hw_poisoned, type and generation
  // return (stores the hardware can see, allocations, frees); a page's
  // version is the count at its last change (0: never). A reader that
  // walked some pages at one count can reuse its result while none of them
  // is newer. race/'s stores through word_ptr are not counted.
  uint64_t hw_version() const { return hw_version_.load(std::memory_order_relaxed); }
  uint64_t hw_version(PhysAddr pa) const;

  // Epochs (one per API op): the hardware-visible value each word had when
  // the epoch began, for words changed since.
  void begin_epoch();
  uint64_t epoch_value(PhysAddr pa) const;
  bool epoch_fresh(PhysAddr page) const;  // allocated during this epoch

  // The coherent-view word at pa (nullptr where no memory is): for a CPU
  // implementation on real threads (race/), which stores through it.
  uint64_t* word_ptr(PhysAddr pa);
  // True when the real-memory variant is linked: hardware reads are atomic
  // loads, every page is preallocated (race/ needs it).
  static bool real_memory();

  // Live update (KHO, DESIGN.md section 12). A preserved pool page survives
  // kexec() as it is. The allocator never hands out a preserved page: one
  // freed while still preserved stays out of the pool until unpreserved.
  void preserve(PhysAddr pa, bool on);
  bool preserved(PhysAddr pa) const;
  // The kexec: CPU caches are written back (x86 relocate_kernel does
  // wbinvd), then every pool page in use and not preserved is freed
  // (poisoned: a later hardware read of one is P6); preserved pages pass to
  // the next kernel, which owns them like pages it allocated. `kho` is the
  // handover page, the one value the next kernel boots with. Returns the
  // number of pages freed.
  size_t kexec(PhysAddr kho);
  PhysAddr kho() const { return kho_; }

 private:
  friend class PagePool;
  struct Page;  // memory_page.h
  Page* page(PhysAddr pa) const;
  Page* page_or_create(PhysAddr pa);
  // A page as new (from the PagePool when there is one); the hardware view
  // of a non-coherent page holds `dram` (poison for the pool, 0 for data).
  std::unique_ptr<Page> new_page(uint64_t dram) const;
  void make_pages();  // at construction: the variant's pages made up front (if any)
  void log_old(Page* p, uint32_t i, PhysAddr pa, uint64_t old);

  bool coherent_;
  Layout layout_;
  PagePool* pages_;
  // Page slots, grown as pages are made (the real-memory variant makes them
  // all up front): a machine that uses a dozen pages does not pay for 3072.
  std::vector<std::unique_ptr<Page>> pool_;
  std::vector<std::unique_ptr<Page>> data_;
  std::vector<uint32_t> free_list_;
  uint32_t next_pool_ = 0;
  size_t in_use_ = 0;
  size_t dirty_count_ = 0;  // dirty lines of pool pages
  std::atomic<uint64_t> hw_version_{0};
  void hw_changed(Page* p);
  uint32_t epoch_ = 1;
  uint64_t epoch_allocs_ = 0;
  struct EpochOld {
    PhysAddr pa;
    uint64_t v;
  };
  std::vector<EpochOld> epoch_log_;
  // Pages freed during the epoch that existed when it began: their
  // hardware-visible contents at the time of the free.
  std::vector<std::pair<PhysAddr, std::vector<uint64_t>>> epoch_freed_;  // the first freed_n_
  size_t freed_n_ = 0;
  std::vector<bool> preserved_;  // by pool index
  PhysAddr kho_ = 0;
};

// Pages of memories that are gone, for later ones to take: a fuzz target
// runs one machine per input (harness::Options::pages), and a page taken
// from here costs no allocation and no fresh memory. A taken page is reset
// to exactly what a new one holds, so a machine behaves the same with or
// without a pool. Owned by the caller, outlives the memories that use it;
// not shared between threads.
class PagePool {
 public:
  PagePool();
  ~PagePool();
  PagePool(const PagePool&) = delete;
  PagePool& operator=(const PagePool&) = delete;
  size_t spare() const { return spare_.size(); }

 private:
  friend class PhysMemory;
  std::vector<std::unique_ptr<PhysMemory::Page>> spare_;
  // The copies of freed pages' words (PhysMemory::free): a page's worth
  // each, handed on like the pages (issue 16: a fresh 4 KB buffer per page
  // a live update frees was a tenth of the bytes one execution allocated).
  std::vector<std::vector<uint64_t>> spare_words_;
};

using LockId = uint64_t;

// The CPU-side memory API: all the driver may use.
class CpuMemory {
 public:
  virtual ~CpuMemory() = default;
  virtual int id() const = 0;

  virtual PhysAddr alloc_page(PageType t) = 0;  // 0 on failure
  virtual void free_page(PhysAddr page) = 0;

  virtual uint64_t read64(PhysAddr pa) = 0;
  virtual void write64(PhysAddr pa, uint64_t v) = 0;       // plain C store
  virtual void write64_once(PhysAddr pa, uint64_t v) = 0;  // WRITE_ONCE-class
  virtual bool has_write128() const = 0;                   // cmpxchg16b present
  // 128-bit atomic store (16-byte aligned). Must only be called when
  // has_write128(); otherwise it is a no-op that records an error.
  virtual void write128(PhysAddr pa, uint64_t lo, uint64_t hi) = 0;
  virtual void wmb() = 0;
  virtual void dma_wmb() = 0;
  virtual void lock(LockId l) = 0;
  virtual void unlock(LockId l) = 0;
  virtual void clflush(PhysAddr pa, size_t len) = 0;

  virtual uint64_t mmio_read(Reg r) = 0;
  virtual void mmio_write(Reg r, uint64_t v) = 0;  // ordering point (writel)
  virtual void relax() = 0;                        // cpu_relax in a wait loop

  // KHO (live update, DESIGN.md section 12): keep a page across the next
  // kexec, or stop keeping it (kho_preserve_folio / kho_unpreserve_folio).
  // A kernel service, not a store: no hardware sees it. CPU models of
  // platforms without live update (race/, transitions/) ignore it.
  virtual void kho_preserve(PhysAddr page, bool preserve) {}
};

struct CpuStats {
  uint64_t stores = 0;
  uint64_t visible = 0;
  uint64_t illegal128 = 0;  // write128 without cmpxchg16b
};

// The model CPU.
class SimCpu final : public CpuMemory {
 public:
  SimCpu(int id, PhysMemory& mem, Mmio& mmio, bool has128);

  void set_schedule(Schedule* s) { schedule_ = s; }
  const CpuStats& stats() const { return stats_; }

  int id() const override { return id_; }
  PhysAddr alloc_page(PageType t) override;
  void free_page(PhysAddr page) override;
  uint64_t read64(PhysAddr pa) override;
  void write64(PhysAddr pa, uint64_t v) override;
  void write64_once(PhysAddr pa, uint64_t v) override;
  bool has_write128() const override { return has128_; }
  void write128(PhysAddr pa, uint64_t lo, uint64_t hi) override;
  void wmb() override { drain(); }
  void dma_wmb() override { drain(); }
  void lock(LockId l) override;
  void unlock(LockId l) override;
  void clflush(PhysAddr pa, size_t len) override;
  uint64_t mmio_read(Reg r) override;
  void mmio_write(Reg r, uint64_t v) override;
  void relax() override;
  void kho_preserve(PhysAddr page, bool preserve) override { mem_.preserve(page, preserve); }

  // Hardware-side introspection (what a bus analyzer could tell).
  bool holds(LockId l) const;
  const std::vector<LockId>& held_locks() const { return locks_; }
  size_t pending() const { return pending_.size(); }
  // True if a store to `page` issued before the store tagged `t` is still
  // not visible: the contents of a table were not visible when a pointer to
  // it (written by `t`) became visible.
  bool pending_before(PhysAddr page, StoreTag t) const;

 private:
  struct Pending {
    PhysAddr pa;
    uint64_t v;
    uint32_t seq;
    uint32_t delay;  // remaining later stores that may overtake it
    bool ordered;    // WRITE_ONCE-class: program order among ordered stores
  };
  void issue(PhysAddr pa, uint64_t v, bool ordered);
  void make_visible(PhysAddr pa, uint64_t v, uint32_t seq);
  void tick();   // one store was issued: delays count down
  void drain();  // ordering point: everything pending becomes visible
  bool eligible(size_t i) const;
  void preempt(PointKind k, PhysAddr pa, uint64_t v);

  int id_;
  PhysMemory& mem_;
  Mmio& mmio_;
  bool has128_;
  Schedule* schedule_ = nullptr;
  uint32_t seq_ = 0;
  std::vector<Pending> pending_;
  std::vector<LockId> locks_;
  CpuStats stats_;
};

}  // namespace vtd::sim

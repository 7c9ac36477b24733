// The page walker: a resumable translation (source-id, optional PASID, IOVA,
// access) through root -> context -> (scalable) PASID directory -> PASID
// entry -> page tables. A multi-quantum entry is fetched one quantum at a
// time: the quantum holding P first (a fetch that finds P=0 stops there),
// the others in an order the schedule picks; the walk may park between
// quanta and resume at a later preemption point. That is how torn reads of
// present entries happen (seeds/001: "four 128-bit bursts").
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "simulator/caches.h"
#include "simulator/config.h"
#include "simulator/events.h"
#include "simulator/faults.h"
#include "simulator/formats.h"
#include "simulator/memory.h"
#include "simulator/schedule.h"
#include "simulator/translation.h"

namespace vtd::sim {

// What the walker may touch: the hardware's side of the platform.
struct HwContext {
  const Config* cfg = nullptr;
  PhysMemory* mem = nullptr;
  Caches* caches = nullptr;
  FaultLog* faults = nullptr;
  Observer* obs = nullptr;
  Schedule* schedule = nullptr;
  std::vector<const SimCpu*> cpus;  // for the "unpublished table" check (P6)
  uint64_t rtaddr = 0;              // RTADDR register
  // Every page the walker reads is appended here (when set): a caller
  // that walks memory only (the oracle's P9) reuses the result while none
  // of them changes (PhysMemory::hw_version).
  std::vector<PhysAddr>* reads = nullptr;
};

struct WalkRequest {
  Sid sid;
  uint32_t pasid = kNoPasid;
  Iova iova = 0;
  Access access = Access::Read;
};

enum class WalkPhase : uint8_t { Root, Context, PasidDir, PasidEntry, Tables, Done };

class Walk {
 public:
  const WalkRequest& request() const { return req_; }
  bool done() const { return phase_ == WalkPhase::Done; }
  WalkPhase phase() const { return phase_; }
  const Translation& result() const { return result_; }
  // Mid-entry: some but not all quanta of the current entry fetched.
  bool parked() const { return nq_ > 0 && got_ > 0 && got_ < nq_; }
  uint8_t quanta_fetched() const { return got_; }
  EntryKind entry_kind() const { return kind_; }

 private:
  friend class Walker;
  WalkRequest req_;
  WalkPhase phase_ = WalkPhase::Root;
  uint32_t pasid_ = kNoPasid;  // effective PASID (RID_PASID for requests without one)
  // entry being assembled
  EntryKind kind_ = EntryKind::LegacyRoot;
  PhysAddr entry_pa_ = 0;
  PhysAddr ptr_from_ = 0;  // address of the pointer that led to this table
  Entry cur_;
  uint8_t nq_ = 0, got_ = 0;
  std::array<uint8_t, 8> order_{};
  // gathered on the way down
  Entry ctx_;
  Entry pe_;
  Translation result_;
};

class Walker {
 public:
  explicit Walker(HwContext& hw) : hw_(hw) {}

  void start(Walk& w, const WalkRequest& r) const;
  // One step: one quantum, or one whole phase served from a cache, or the
  // whole page-table walk (PTEs are single quanta).
  void step(Walk& w) const;
  // Steps until done, or until `split` quanta of a multi-quantum entry have
  // been fetched with more to go (split < 0: never park).
  void run(Walk& w, int split = -1) const;

 private:
  // One translation stage: a table root and its paging mode. One walker
  // serves every mode.
  struct Stage {
    bool first_stage = false;
    PhysAddr root = 0;
    PhysAddr root_from = 0;  // the entry word holding the root pointer
    PagingMode mode{4, 48};
  };
  struct StageResult {
    PhysAddr pa = 0;
    uint8_t level = 1;
    bool writable = false;
  };
  void begin_entry(Walk& w, EntryKind k, PhysAddr pa, PhysAddr ptr_from) const;
  void fetch_quantum(Walk& w) const;
  void entry_done(Walk& w) const;
  // A fetched context or PASID entry decoded: false when it faults (the
  // walk fails); otherwise the translation takes its FPD.
  bool accept(Walk& w, const Entry& e) const;
  void context_ready(Walk& w) const;
  void pasid_ready(Walk& w) const;
  void tables(Walk& w) const;
  FaultReason walk_stage(Walk& w, const Stage& s, Iova in, bool use_psc, StageResult* out) const;
  void fail(Walk& w, FaultReason r, bool fpd) const;
  uint64_t read_word(PhysAddr pa, PageType expect, PhysAddr ptr_from, const Walk& w) const;
  void emit(const HwEvent& e) const;

  HwContext& hw_;
};

}  // namespace vtd::sim

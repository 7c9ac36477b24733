// Reference reads of the hardware-visible translation structures: what the
// walker would fetch right now, without caches, events or side effects. The
// oracle uses them to learn the old and new value of an entry (it never
// looks at the writer's private state).
#pragma once

#include <cstdint>
#include <vector>

#include "simulator/flat_map.h"
#include "simulator/formats.h"
#include "simulator/memory.h"
#include "simulator/types.h"

namespace vtd::oracle {

struct EntryLoc {
  sim::EntryKind kind = sim::EntryKind::LegacyContext;
  sim::PhysAddr pa = 0;  // 0: unreachable
};

// Where the root entry for `sid`'s bus, its context entry and (scalable)
// the PASID entry used by requests of `sid` with `pasid` (kNoPasid:
// RID_PASID) live, following the hardware-visible tables from RTADDR.
struct Located {
  EntryLoc root;
  EntryLoc context;
  EntryLoc pasid;  // scalable only
};
// `reads`, when set, gets the page of every entry read on the way and of
// the entries located (a caller reads those next).
Located locate(const sim::PhysMemory& mem, uint64_t rtaddr, sim::Sid sid, uint32_t pasid,
               std::vector<sim::PhysAddr>* reads = nullptr);

// The pages a reference read looked at, and the memory's version then
// (PhysMemory::hw_version): while none of them is newer, the read would
// give the same result. For checks that re-read the same entries at every
// point or op end.
class ReadSet {
 public:
  void start(const sim::PhysMemory& mem) {
    version_ = mem.hw_version();
    pages_.clear();
    sim::room(pages_, 64);
  }
  std::vector<sim::PhysAddr>* pages() { return &pages_; }
  void done();  // after the reads: sorts the pages, each once
  bool unchanged(const sim::PhysMemory& mem) const;

 private:
  uint64_t version_ = 0;
  std::vector<sim::PhysAddr> pages_;
};

// A check's last clean verdict and what it rested on: a key (what it
// compared, from the model, registers and caches) and the pages it read.
// The same key over unchanged pages gives the same verdict.
template <typename Key>
class LastClean {
 public:
  bool holds(const Key& now, const sim::PhysMemory& mem) const {
    return clean_ && now == key_ && reads_.unchanged(mem);
  }
  // The check runs: the pages it reads go here.
  std::vector<sim::PhysAddr>* start(const sim::PhysMemory& mem) {
    clean_ = false;
    reads_.start(mem);
    return reads_.pages();
  }
  // It found nothing: `now` is kept (and gets the old key's buffers).
  void clean(Key* now) {
    clean_ = true;
    std::swap(key_, *now);
    reads_.done();
  }
  void forget() { clean_ = false; }

 private:
  bool clean_ = false;
  Key key_;
  ReadSet reads_;
};

// An entry's words as the hardware sees them now / saw them when the
// current epoch began.
sim::Entry read_now(const sim::PhysMemory& mem, const EntryLoc& at);
sim::Entry read_epoch(const sim::PhysMemory& mem, const EntryLoc& at);

}  // namespace vtd::oracle

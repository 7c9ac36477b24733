// The abstract state the race harness checks against, shared by CPU threads
// (which change it, one op at a time) and walker threads (which judge what
// they assembled and translated against it). Everything here is under one
// mutex: the checker takes snapshots and never races itself.
//
// Timeline. API calls are serialized (the iommu core mutex, harness.h), so
// the history is a sequence: state S0, op 1 in flight, S1, op 2 in flight,
// S2, ... A version counter V is 2k-1 while op k is in flight and 2k once
// it returned. A walk records V when it starts (v0) and when it ends (v1);
// everything it read was written by an op whose in-flight interval meets
// [v0, v1] or before, so what it may legally see is:
//   P1  each context / PASID entry it assembled: not present, or the
//       configuration (sim::config_of, DID masked) that entry has in one of
//       the states S(v0/2) .. S(v1/2) (the old and new configuration of every
//       op in flight during the walk);
//   P2  its translation: one that one of those states allows (the attached
//       domain's mapping), or a fault while an op on that device was in
//       flight during the walk.
// The configuration an entry has in a state is read from memory when the op
// returns (the harness holds the core mutex then, so nothing changes). A
// check that needs the state of the op still in flight waits for the op to
// return (pending), and is then judged against its new state.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "driver/driver.h"
#include "oracle/model.h"
#include "simulator/formats.h"
#include "simulator/rng.h"
#include "simulator/translation.h"
#include "simulator/types.h"

namespace vtd::race {

using sim::Rng;

// An entry P1 judges: a device's context entry, or the PASID entry its
// requests with `pasid` use (0: RID_PASID, requests without PASID).
struct EntityKey {
  static constexpr uint32_t kContext = 0xffffffffu;
  uint16_t sid = 0;
  uint32_t pasid = kContext;
  auto operator<=>(const EntityKey&) const = default;
  std::string str() const;
};

// A state of the history: the shared abstract model (oracle/model.h) after
// an op returned, and the configuration each entry had then (read from
// memory; oracle::shape, so DIDs are masked).
struct State {
  oracle::Model model{true};
  std::map<EntityKey, sim::Entry> shapes;  // absent: not present
};

// What a read of `iova` by (sid, key) translates to in `s` (no call is in
// flight in a state: one outcome).
oracle::Outcome expected(const State& s, sim::Sid sid, uint32_t key, sim::Iova iova);

// One walk, as a walker thread saw it.
struct WalkRecord {
  int walker = 0;
  uint64_t v0 = 0;
  sim::Sid sid;
  uint32_t key = 0;  // 0: without PASID
  sim::Iova iova = 0;
  struct Seen {
    EntityKey at;
    sim::Entry entry;
  };
  std::vector<Seen> entries;
  bool done = false;
  sim::Translation result;
};

struct ModelCounters {
  uint64_t ops = 0;
  uint64_t walks = 0;      // translations checked
  uint64_t unchecked = 0;  // walks whose window left the kept history (should be 0)
  uint64_t entries = 0;    // context / PASID entries judged
  uint64_t pending = 0;    // judgements that waited for an op to return
  uint64_t torn = 0;       // P1
  uint64_t p2 = 0;         // P2
};

class Model {
 public:
  Model(State initial, std::vector<sim::Iova> iovas, int walkers);

  // CPU side, under the iommu core mutex.
  const State& current() const { return *latest_; }
  void begin_op(const std::string& text, const std::vector<uint16_t>& sids);
  void end_op(State next);

  // Walker side: choose a request from the latest state (every present
  // device, without PASID and with each PASID it may use) and remember
  // when; then judge what the walk saw.
  bool pick(int walker, Rng& rng, WalkRecord* rec);
  void check(const WalkRecord& rec);

  ModelCounters counters() const;
  std::vector<std::string> findings() const;  // the first few, one block each

 private:
  struct OpRec {
    std::string text;
    std::vector<uint16_t> sids;
    struct Pending {
      bool p1 = true;
      WalkRecord::Seen seen;
      WalkRecord rec;  // P2
    };
    std::vector<Pending> pending;
  };
  const State& state(uint64_t j) const { return *states_[size_t(j - base_)]; }
  OpRec& op(uint64_t k) { return ops_[size_t(k - base_ - 1)]; }
  std::string window_text(uint64_t v0, uint64_t v1) const;
  void torn(const WalkRecord::Seen& s, uint64_t v0, uint64_t v1);
  void bad_translation(const WalkRecord& r, uint64_t v1);
  void prune();

  mutable std::mutex mu_;
  std::vector<sim::Iova> iovas_;
  uint64_t v_ = 0;
  uint64_t base_ = 0;                                // oldest state kept
  std::deque<std::shared_ptr<const State>> states_;  // S_base ..
  std::deque<OpRec> ops_;                            // op base+1 ..
  std::shared_ptr<const State> latest_;
  std::vector<uint64_t> active_;  // v0 of each walker's walk in flight (UINT64_MAX: none)
  ModelCounters c_;
  std::vector<std::string> findings_;
};

}  // namespace vtd::race

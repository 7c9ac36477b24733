#include "race/model.h"

#include <algorithm>
#include <cstdio>

namespace vtd::race {

namespace {
constexpr size_t kMaxFindings = 5;

std::string outcome_text(const oracle::Outcome& o) {
  if (o.fault) return "fault";
  return "pa " + sim::hex(o.pa) + (o.writable ? " rw" : " ro");
}

// A walk's translation is exactly the state's (no DMA rights to compare
// with: the walker reports the writable bit it found).
bool matches(const oracle::Outcome& want, const sim::Translation& got) {
  if (want.fault || !got.ok()) return want.fault == !got.ok();
  return want.pa == got.pa && want.writable == got.writable;
}
}  // namespace

std::string EntityKey::str() const {
  std::string s = sim::Sid(sid).str();
  if (pasid == kContext) return "context entry of " + s;
  return "PASID entry of " + s + " pasid " + std::to_string(pasid);
}

oracle::Outcome expected(const State& s, sim::Sid sid, uint32_t key, sim::Iova iova) {
  std::vector<oracle::Outcome> os;
  s.model.outcomes(s.model.attached(sid, key), iova, &os);
  return os.front();
}

Model::Model(State initial, std::vector<sim::Iova> iovas, int walkers)
    : iovas_(std::move(iovas)), active_(size_t(walkers), UINT64_MAX) {
  latest_ = std::make_shared<const State>(std::move(initial));
  states_.push_back(latest_);
}

void Model::begin_op(const std::string& text, const std::vector<uint16_t>& sids) {
  std::lock_guard<std::mutex> g(mu_);
  ++v_;  // odd: op (v_+1)/2 in flight
  ops_.push_back({text, sids, {}});
}

void Model::end_op(State next) {
  std::lock_guard<std::mutex> g(mu_);
  ++v_;
  const uint64_t k = v_ / 2;
  latest_ = std::make_shared<const State>(std::move(next));
  states_.push_back(latest_);
  ++c_.ops;
  // Judgements that waited for this op's new state.
  OpRec& o = op(k);
  for (OpRec::Pending& p : o.pending) {
    if (p.p1) {
      auto it = latest_->shapes.find(p.seen.at);
      sim::Entry want = it == latest_->shapes.end() ? sim::Entry(p.seen.entry.kind) : it->second;
      if (!(oracle::shape(p.seen.entry) == want)) torn(p.seen, p.rec.v0, v_);
    } else if (!matches(expected(*latest_, p.rec.sid, p.rec.key, p.rec.iova), p.rec.result)) {
      bad_translation(p.rec, v_);
    }
  }
  o.pending.clear();
  o.pending.shrink_to_fit();
  prune();
}

void Model::prune() {
  uint64_t keep = v_ / 2;
  for (uint64_t a : active_)
    if (a != UINT64_MAX) keep = std::min(keep, a / 2);
  while (base_ < keep) {
    states_.pop_front();
    ops_.pop_front();
    ++base_;
  }
}

bool Model::pick(int walker, Rng& rng, WalkRecord* rec) {
  std::lock_guard<std::mutex> g(mu_);
  const State& s = *latest_;
  struct Req {
    uint16_t sid;
    uint32_t key;
  };
  std::vector<Req> reqs;
  for (auto& [sid, d] : s.model.devices()) {
    reqs.push_back({sid, 0});
    if (d.pasid_cap)
      for (uint32_t p = 1; p <= 2; ++p) reqs.push_back({sid, p});
  }
  if (reqs.empty()) return false;
  const Req r = reqs[rng.below(uint32_t(reqs.size()))];
  sim::Iova iova = iovas_[rng.below(uint32_t(iovas_.size()))];
  // Mostly an IOVA the attached domain maps, so translations complete.
  const drv::DomainId a = s.model.attached(sim::Sid(r.sid), r.key);
  if (a && rng.below(4) != 0) {
    auto dom = s.model.domains().find(a);
    if (dom != s.model.domains().end() && !dom->second.maps.empty()) {
      auto m = dom->second.maps.begin();
      std::advance(m, rng.below(uint32_t(dom->second.maps.size())));
      iova = m->first;
    }
  }
  *rec = WalkRecord();
  rec->walker = walker;
  rec->v0 = v_;
  rec->sid = sim::Sid(r.sid);
  rec->key = r.key;
  rec->iova = iova;
  active_[size_t(walker)] = v_;
  return true;
}

void Model::check(const WalkRecord& rec) {
  std::lock_guard<std::mutex> g(mu_);
  active_[size_t(rec.walker)] = UINT64_MAX;
  const uint64_t v0 = rec.v0, v1 = v_;
  const uint64_t j0 = v0 / 2, j1 = v1 / 2;
  if (j0 < base_) {
    ++c_.unchecked;
    return;
  }
  const bool in_flight = v1 & 1;  // op j1+1 has not returned: its new state is unknown
  ++c_.walks;

  // P1: every context / PASID entry the walk assembled.
  for (const WalkRecord::Seen& s : rec.entries) {
    ++c_.entries;
    const sim::Entry got = oracle::shape(s.entry);
    if (!got.present()) continue;
    bool ok = false;
    for (uint64_t j = j0; j <= j1 && !ok; ++j) {
      auto it = state(j).shapes.find(s.at);
      ok = it != state(j).shapes.end() && it->second == got;
    }
    if (ok) continue;
    if (in_flight) {
      ++c_.pending;
      OpRec::Pending p;
      p.p1 = true;
      p.seen = s;
      p.rec.v0 = v0;
      op(j1 + 1).pending.push_back(std::move(p));
      continue;
    }
    torn(s, v0, v1);
  }

  // P2: the translation.
  if (!rec.done) return;
  for (uint64_t j = j0; j <= j1; ++j)
    if (matches(expected(state(j), rec.sid, rec.key, rec.iova), rec.result)) return;
  if (!rec.result.ok()) {
    // A fault is allowed while an op on this device is in flight: ops
    // j0+1 .. (v1+1)/2 were in flight during the walk.
    for (uint64_t k = j0 + 1; k <= (v1 + 1) / 2; ++k) {
      const OpRec& o = op(k);
      if (std::find(o.sids.begin(), o.sids.end(), rec.sid.v) != o.sids.end()) return;
    }
  }
  if (in_flight) {
    ++c_.pending;
    OpRec::Pending p;
    p.p1 = false;
    p.rec = rec;
    p.rec.entries.clear();
    op(j1 + 1).pending.push_back(std::move(p));
    return;
  }
  bad_translation(rec, v1);
}

std::string Model::window_text(uint64_t v0, uint64_t v1) const {
  std::string s;
  const uint64_t j0 = v0 / 2;
  for (uint64_t k = j0 + 1; k <= (v1 + 1) / 2 && k - j0 <= 4; ++k)
    s += "\n    op in flight during the walk: " + ops_[size_t(k - base_ - 1)].text;
  if ((v1 + 1) / 2 - j0 > 4) s += "\n    ...";
  if ((v1 + 1) / 2 == j0) s += "\n    no op in flight during the walk";
  return s;
}

void Model::torn(const WalkRecord::Seen& s, uint64_t v0, uint64_t v1) {
  ++c_.torn;
  if (findings_.size() >= kMaxFindings) return;
  std::string t = "P1 torn entry: " + s.at.str() + "\n    assembled: " + s.entry.str() +
                  "\n    (raw " + s.entry.hex() + ")";
  std::vector<sim::Entry> seen;
  for (uint64_t j = v0 / 2; j <= (v1 + 1) / 2 && j - base_ < states_.size(); ++j) {
    auto it = state(j).shapes.find(s.at);
    sim::Entry e = it == state(j).shapes.end() ? sim::Entry(s.entry.kind) : it->second;
    if (std::find(seen.begin(), seen.end(), e) != seen.end()) continue;
    seen.push_back(e);
    t += "\n    allowed:   " + (e.present() ? e.str() : std::string("not present"));
  }
  findings_.push_back(t + window_text(v0, v1));
}

void Model::bad_translation(const WalkRecord& r, uint64_t v1) {
  ++c_.p2;
  if (findings_.size() >= kMaxFindings) return;
  std::string t = "P2 translation: " + r.sid.str() + " pasid " + std::to_string(r.key) + " iova " +
                  sim::hex(r.iova) + " -> " +
                  (r.result.ok() ? outcome_text({false, r.result.pa, r.result.writable})
                                 : std::string("fault ") + sim::fault_reason_name(r.result.fault));
  for (uint64_t j = r.v0 / 2; j <= (v1 + 1) / 2 && j - base_ < states_.size(); ++j)
    t += "\n    allowed by S" + std::to_string(j) + ": " +
         outcome_text(expected(state(j), r.sid, r.key, r.iova));
  findings_.push_back(t + window_text(r.v0, v1));
}

ModelCounters Model::counters() const {
  std::lock_guard<std::mutex> g(mu_);
  return c_;
}

std::vector<std::string> Model::findings() const {
  std::lock_guard<std::mutex> g(mu_);
  return findings_;
}

}  // namespace vtd::race

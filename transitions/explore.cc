// The search (transitions.h): every interleaving of one hardware fetch with
// the recorded update, memoized; each assembled entry goes to the Judge.
#include <array>
#include <cstdio>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "transitions/internal.h"

namespace vtd::transitions::detail {

namespace {

using Words = std::array<uint64_t, 8>;

struct WordsHash {
  size_t operator()(const Words& w) const {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t x : w) h = (h ^ x) * 1099511628211ull ^ (h >> 29);
    return size_t(h);
  }
};

// A store the hardware can see: `n` words from word `w`.
struct CStore {
  uint8_t w = 0, n = 1;
  uint64_t v[2] = {0, 0};
  uint32_t index = 0;  // program order among the writer's entry stores, 1-based
};

struct Item {
  enum Kind : uint8_t { Seg, Clflush, Group } kind = Seg;
  std::vector<CStore> st;     // Seg
  std::vector<uint64_t> pre;  // Seg: stores that must be visible first
  uint64_t full = 0;          // Seg: every store visible
  uint32_t group = 0;         // Group
  uint32_t groups_before = 0;
  Words base{};  // the entry before this item
};

enum Phase : uint8_t { NotStarted, InProgress, Done };

struct State {
  uint64_t mask = 0;
  uint32_t pos = 0;
  uint32_t dram = 0;  // interned DRAM words (non-coherent)
  uint32_t part = 0;  // interned words fetched so far
  uint8_t phase = NotStarted;
  uint8_t qmask = 0;
  bool operator==(const State& o) const {
    return mask == o.mask && pos == o.pos && dram == o.dram && part == o.part && phase == o.phase &&
           qmask == o.qmask;
  }
};
struct StateHash {
  size_t operator()(const State& s) const {
    uint64_t h = s.mask * 0x9e3779b97f4a7c15ull;
    h ^= (uint64_t(s.pos) << 32 | s.dram) * 0xc2b2ae3d27d4eb4full;
    h ^= (uint64_t(s.part) << 16 | uint64_t(s.phase) << 8 | s.qmask) * 0x165667b19e3779f9ull;
    return size_t(h ^ (h >> 31));
  }
};

// One step of a schedule, for witnesses.
struct Step {
  enum Kind : uint8_t { Visible, Clflush, Group, Evict, FetchFirst, FetchQuantum } kind;
  uint32_t a = 0;  // Visible: store index; Group: group; Fetch*: quantum
  uint32_t b = 0;  // Visible: the item's store slot; Group: 1 when it drained the fetch
};

uint64_t sat_add(uint64_t a, uint64_t b) {
  return a + b < a ? UINT64_MAX : a + b;
}

class Explorer {
 public:
  Explorer(const Spec& s, Result& r) : s_(s), r_(r), judge_(s, r) {
    kind_ = s.kind();
    fw_ = fetch_words(kind_);
    qw_ = s.quantum_bits == 64 ? 1 : 2;
    nq_ = (fw_ + qw_ - 1) / qw_;
  }

  void run() {
    compile();
    State s0;
    Words old{};
    for (int i = 0; i < fw_; ++i) old[size_t(i)] = s_.old.w[size_t(i)];
    s0.dram = intern(old);
    s0.part = intern(Words{});
    r_.interleavings = visit(s0);
    r_.states = memo_.size();
    r_.observations = uint32_t(observed_.size());
    r_.saw_not_present = judge_.saw_not_present();
    r_.hitless_observed =
        s_.old.present() && s_.target.present() && !r_.saw_not_present && !judge_.torn();
  }

 private:
  // ------------------------------------------------------------ compile
  void compile() {
    const Recording& rec = r_.rec;
    Words cur{};
    for (int i = 0; i < fw_; ++i) cur[size_t(i)] = s_.old.w[size_t(i)];
    // Words some store changes: a store of the initial value to a word no
    // store ever changes is invisible in every order, so it is dropped.
    std::array<bool, 8> changes{};
    for (const Event& e : rec.events) {
      if (e.kind != EvKind::Store) continue;
      int n = e.store == StoreKind::Wide ? 2 : 1;
      for (int i = 0; i < n; ++i) {
        int w = int((e.pa - kEntryPa) / 8) + i;
        if (w >= 0 && w < fw_ && e.v[i] != s_.old.w[size_t(w)]) changes[size_t(w)] = true;
      }
    }
    for (int q = 0; q < nq_; ++q)
      for (int i = q * qw_; i < std::min(fw_, (q + 1) * qw_); ++i)
        if (changes[size_t(i)]) qchanges_ |= uint8_t(1u << q);

    Item seg;
    std::vector<bool> once;
    uint32_t index = 0, groups = 0;
    auto close = [&] {
      if (seg.st.empty()) return;
      seg.base = cur;
      seg.groups_before = groups;
      seg.full = seg.st.size() >= 64 ? ~0ull : (1ull << seg.st.size()) - 1;
      for (size_t j = 0; j < seg.st.size(); ++j) {
        uint64_t p = 0;
        for (size_t i = 0; i < j; ++i) {
          const CStore &a = seg.st[i], &b = seg.st[j];
          bool overlap = a.w < b.w + b.n && b.w < a.w + a.n;
          if (overlap || (once[i] && once[j])) p |= 1ull << i;
        }
        seg.pre.push_back(p);
      }
      for (const CStore& c : seg.st)
        for (int i = 0; i < c.n; ++i) cur[size_t(c.w + i)] = c.v[i];
      items_.push_back(std::move(seg));
      seg = Item();
      once.clear();
    };
    for (const Event& e : rec.events) {
      switch (e.kind) {
        case EvKind::Store: {
          ++index;
          CStore c;
          int w = int((e.pa - kEntryPa) / 8);
          int n = e.store == StoreKind::Wide ? 2 : 1;
          // Only the words the hardware fetches, and only if one changes.
          int lo = std::max(w, 0), hi = std::min(w + n, fw_);
          bool visible = false;
          for (int i = lo; i < hi; ++i) visible |= changes[size_t(i)];
          if (!visible) break;
          c.w = uint8_t(lo);
          c.n = uint8_t(hi - lo);
          for (int i = lo; i < hi; ++i) c.v[i - lo] = e.v[i - w];
          c.index = index;
          if (e.store == StoreKind::Wide) close();
          // More plain stores than one mask holds: the rest become a segment
          // of their own (an order the CPU does not impose; never seen).
          if (seg.st.size() == 64) close();
          seg.st.push_back(c);
          once.push_back(e.store != StoreKind::Plain);
          if (e.store == StoreKind::Wide) close();
          break;
        }
        case EvKind::Fence:
        case EvKind::TagAdd:
        case EvKind::TagRemove:
          close();
          break;
        case EvKind::Clflush: {
          close();
          bool covers = e.pa < kEntryPa + 8ull * uint64_t(fw_) && kEntryPa < e.pa + e.len;
          if (s_.coherent || !covers) break;
          Item it;
          it.kind = Item::Clflush;
          it.base = cur;
          it.groups_before = groups;
          items_.push_back(std::move(it));
          break;
        }
        case EvKind::Group: {
          close();
          Item it;
          it.kind = Item::Group;
          it.group = e.group;
          it.base = cur;
          it.groups_before = groups++;
          items_.push_back(std::move(it));
          break;
        }
      }
    }
    close();
    final_ = cur;
    ngroups_ = groups;
  }

  // ------------------------------------------------------------- values
  uint32_t intern(const Words& w) {
    auto [it, added] = ids_.try_emplace(w, uint32_t(values_.size()));
    if (added) values_.push_back(w);
    return it->second;
  }

  Words cpu_value(const State& s) const {
    if (s.pos >= items_.size()) return final_;
    const Item& it = items_[s.pos];
    Words v = it.base;
    if (it.kind == Item::Seg)
      for (size_t j = 0; j < it.st.size(); ++j)
        if (s.mask >> j & 1)
          for (int i = 0; i < it.st[j].n; ++i) v[size_t(it.st[j].w + i)] = it.st[j].v[i];
    return v;
  }
  Words hw_value(const State& s) const { return s_.coherent ? cpu_value(s) : values_[s.dram]; }
  uint32_t groups_done(const State& s) const {
    return s.pos >= items_.size() ? ngroups_ : items_[s.pos].groups_before;
  }

  // Reads quantum q from `mem` into `part`.
  void read_quantum(Words& part, const Words& mem, int q) const {
    for (int i = q * qw_; i < std::min(fw_, (q + 1) * qw_); ++i) part[size_t(i)] = mem[size_t(i)];
  }

  // ------------------------------------------------------------ judging
  Entry entry_of_words(const Words& w) const {
    Entry e(kind_);
    for (int i = 0; i < fw_; ++i) e.w[size_t(i)] = w[size_t(i)];
    return e;
  }

  void judge(const Words& w, uint32_t k, int drained_by) {
    Entry e = entry_of_words(w);
    auto key = std::make_pair(intern(w), k);
    if (!judged_.insert(key).second) return;
    observed_.insert(key.first);
    judge_.entry(e, k, [&](oracle::Property p, const std::string& what) {
      add(Rule::Property, p, what, e, drained_by);
    });
  }

  void add(Rule rule, oracle::Property p, const std::string& what, const Entry& e, int drained_by) {
    for (const Finding& f : r_.findings)
      if (same_kind(f, rule, p, e)) return;
    Finding f{.rule = rule, .property = p, .what = what, .observed = e, .drained_by = drained_by};
    f.witness = witness(&f.fetch_store, &f.evict_store);
    r_.findings.push_back(std::move(f));
  }

  std::vector<std::string> witness(int* fetch_store, int* evict_store) const {
    std::vector<std::string> out;
    int last_store = 0;
    *fetch_store = 0;
    *evict_store = 0;
    bool fetching = false;
    for (const Step& st : path_) {
      char b[160];
      switch (st.kind) {
        case Step::Visible:
          last_store = int(st.a);
          snprintf(b, sizeof b, "store %u", st.a);
          break;
        case Step::Clflush:
          snprintf(b, sizeof b, "clflush");
          break;
        case Step::Group:
          snprintf(b, sizeof b, "flush %u%s", st.a + 1, st.b ? " (drains the fetch)" : "");
          break;
        case Step::Evict:
          if (!fetching) *evict_store = last_store;
          snprintf(b, sizeof b, "eviction (write-back)");
          break;
        case Step::FetchFirst:
          *fetch_store = last_store;
          fetching = true;
          snprintf(b, sizeof b, "fetch q%u (P)", st.a);
          break;
        case Step::FetchQuantum:
          snprintf(b, sizeof b, "fetch q%u", st.a);
          break;
      }
      out.push_back(b);
    }
    return out;
  }

  void check_final(const State& s) {
    Entry e = entry_of_words(hw_value(s));
    if (judge_.final_ok(e)) return;
    for (const Finding& f : r_.findings)
      if (same_kind(f, Rule::Final, oracle::Property::P1, e)) return;
    Finding f;
    f.rule = Rule::Final;
    f.what = s_.coherent ? "update() returned with the entry not in the target configuration"
                         : "update() returned with the hardware (DRAM) view of the entry not in "
                           "the target configuration";
    f.observed = e;
    f.witness = witness(&f.fetch_store, &f.evict_store);
    r_.findings.push_back(std::move(f));
  }

  // ------------------------------------------------------------- search
  void normalize(State& s) const {
    while (s.pos < items_.size() && items_[s.pos].kind == Item::Seg &&
           s.mask == items_[s.pos].full) {
      ++s.pos;
      s.mask = 0;
    }
  }

  // The fetch reads the quantum holding P and, with it, every quantum no
  // store changes (it reads the same whenever it is read).
  void fetch_first(const State& s, State& t) {
    const Words mem = hw_value(s);
    Words part{};
    read_quantum(part, mem, 0);
    const bool present = part[0] & 1;
    if (!present) {
      t.phase = Done;
      t.part = 0;
      t.qmask = 0;
      judge(part, groups_done(s), -1);
      return;
    }
    uint8_t got = 1;
    for (int q = 1; q < nq_; ++q)
      if (!(qchanges_ >> q & 1)) read_quantum(part, mem, q), got |= uint8_t(1u << q);
    finish_or_park(part, got, t, groups_done(s), -1);
  }

  void finish_or_park(const Words& part, uint8_t got, State& t, uint32_t k, int drained_by) {
    if (got == uint8_t((1u << nq_) - 1)) {
      judge(part, k, drained_by);
      t.phase = Done;
      t.part = 0;
      t.qmask = 0;
    } else {
      t.phase = InProgress;
      t.part = intern(part);
      t.qmask = got;
    }
  }

  uint64_t visit(State s) {
    normalize(s);
    if (auto it = memo_.find(s); it != memo_.end()) return it->second;
    memo_.emplace(s, 0);  // the graph is acyclic; this only reserves the slot
    const bool end = s.pos >= items_.size();
    if (end) check_final(s);
    if (end && s.phase == Done) return memo_[s] = 1;
    uint64_t n = 0;
    // The CPU side.
    if (!end) {
      const Item& it = items_[s.pos];
      switch (it.kind) {
        case Item::Seg:
          for (size_t j = 0; j < it.st.size(); ++j) {
            if ((s.mask >> j & 1) || (it.pre[j] & ~s.mask)) continue;
            State t = s;
            t.mask |= 1ull << j;
            path_.push_back({Step::Visible, it.st[j].index, uint32_t(j)});
            n = sat_add(n, visit(t));
            path_.pop_back();
          }
          break;
        case Item::Clflush: {
          State t = s;
          t.dram = intern(cpu_value(s));
          ++t.pos;
          t.mask = 0;
          path_.push_back({Step::Clflush, 0, 0});
          n = sat_add(n, visit(t));
          path_.pop_back();
          break;
        }
        case Item::Group: {
          // An invalidation completes only after fetches in flight are done:
          // they read their remaining quanta now.
          State t = s;
          const bool drains = s.phase == InProgress;
          path_.push_back({Step::Group, it.group, drains});
          if (drains) {
            Words part = values_[s.part];
            const Words mem = hw_value(s);
            for (int q = 0; q < nq_; ++q)
              if (!(s.qmask >> q & 1)) read_quantum(part, mem, q);
            judge(part, it.group, int(it.group));
            t.phase = Done;
            t.part = 0;
            t.qmask = 0;
          }
          ++t.pos;
          t.mask = 0;
          n = sat_add(n, visit(t));
          path_.pop_back();
          break;
        }
      }
    }
    // The hardware fetch.
    if (s.phase == NotStarted) {
      State t = s;
      path_.push_back({Step::FetchFirst, 0, 0});
      fetch_first(s, t);
      n = sat_add(n, visit(t));
      path_.pop_back();
    } else if (s.phase == InProgress) {
      const Words mem = hw_value(s);
      for (int q = 1; q < nq_; ++q) {
        if (s.qmask >> q & 1) continue;
        State t = s;
        Words part = values_[s.part];
        read_quantum(part, mem, q);
        path_.push_back({Step::FetchQuantum, uint32_t(q), 0});
        finish_or_park(part, uint8_t(s.qmask | 1u << q), t, groups_done(s), -1);
        n = sat_add(n, visit(t));
        path_.pop_back();
      }
    }
    // A non-coherent line may be written back at any moment. Once the fetch
    // is done only the DRAM value at the return matters, and the paths with
    // the fetch not yet started reach every one of those.
    if (!s_.coherent && s.phase != Done) {
      const Words cpu = cpu_value(s);
      if (cpu != values_[s.dram]) {
        State t = s;
        t.dram = intern(cpu);
        path_.push_back({Step::Evict, 0, 0});
        n = sat_add(n, visit(t));
        path_.pop_back();
      }
    }
    return memo_[s] = n;
  }

  const Spec& s_;
  Result& r_;
  EntryKind kind_;
  int fw_ = 2, qw_ = 2, nq_ = 1;
  uint8_t qchanges_ = 0;
  Judge judge_;
  std::vector<Item> items_;
  Words final_{};
  uint32_t ngroups_ = 0;
  std::vector<Words> values_;
  std::unordered_map<Words, uint32_t, WordsHash> ids_;
  std::unordered_map<State, uint64_t, StateHash> memo_;
  std::set<std::pair<uint32_t, uint32_t>> judged_;
  std::unordered_set<uint32_t> observed_;
  std::vector<Step> path_;
};

}  // namespace

void explore(const Spec& s, Result& r) {
  Explorer(s, r).run();
}

}  // namespace vtd::transitions::detail

#include "transitions/transitions.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "driver/driver.h"
#include "oracle/reference.h"

namespace vtd::transitions {

using sim::hex;

using sim::Descriptor;
using sim::Entry;
using sim::EntryKind;
using sim::Field;
using sim::PhysAddr;

namespace {

int entry_words(EntryKind k) {
  return sim::format_of(k).words;
}
int fetch_words(EntryKind k) {
  return sim::format_of(k).fetch_words;
}

// ------------------------------------------------------------ recording --

// The CPU a writer stores through: every store, ordering point and clflush
// is appended to the recording; reads see program order (store forwarding).
class RecCpu final : public sim::CpuMemory {
 public:
  RecCpu(Recording& r, const Entry& old, bool has128) : r_(r), has128_(has128) {
    for (int i = 0; i < entry_words(old.kind); ++i) mem_[kEntryPa + 8ull * i] = old.w[size_t(i)];
    words_ = entry_words(old.kind);
  }

  int id() const override { return 0; }
  PhysAddr alloc_page(sim::PageType) override {
    next_page_ += sim::kPageSize;
    return next_page_;
  }
  void free_page(PhysAddr) override { fence(); }
  uint64_t read64(PhysAddr pa) override {
    auto it = mem_.find(pa);
    return it == mem_.end() ? 0 : it->second;
  }
  void write64(PhysAddr pa, uint64_t v) override { store(pa, v, StoreKind::Plain); }
  void write64_once(PhysAddr pa, uint64_t v) override { store(pa, v, StoreKind::Once); }
  bool has_write128() const override { return has128_; }
  void write128(PhysAddr pa, uint64_t lo, uint64_t hi) override {
    if (!has128_) {
      r_.problems.push_back("write128 on a CPU without cmpxchg16b (nothing is stored)");
      return;
    }
    if (pa & 15) r_.problems.push_back("write128 to an address not 16-byte aligned: " + hex(pa));
    fence();
    mem_[pa] = lo;
    mem_[pa + 8] = hi;
    if (!in_entry(pa) && !in_entry(pa + 8)) {
      ++r_.stray;
      return;
    }
    ++r_.stores;
    Event e;
    e.kind = EvKind::Store;
    e.store = StoreKind::Wide;
    e.pa = pa;
    e.v[0] = lo;
    e.v[1] = hi;
    r_.events.push_back(e);
    fence();
  }
  void wmb() override { fence(); }
  void dma_wmb() override { fence(); }
  void lock(sim::LockId) override { fence(); }
  void unlock(sim::LockId) override { fence(); }
  void clflush(PhysAddr pa, size_t len) override {
    Event e;
    e.kind = EvKind::Clflush;
    e.pa = pa;
    e.len = len;
    r_.events.push_back(e);
  }
  uint64_t mmio_read(sim::Reg) override { return 0; }
  void mmio_write(sim::Reg, uint64_t) override { fence(); }
  void relax() override { fence(); }

  void fence() {
    if (r_.events.empty() || r_.events.back().kind != EvKind::Fence) {
      Event e;
      e.kind = EvKind::Fence;
      r_.events.push_back(e);
    }
  }

 private:
  bool in_entry(PhysAddr pa) const {
    return pa >= kEntryPa && pa < kEntryPa + 8ull * uint64_t(words_);
  }
  void store(PhysAddr pa, uint64_t v, StoreKind k) {
    mem_[pa] = v;
    if (!in_entry(pa)) {
      ++r_.stray;
      return;
    }
    ++r_.stores;
    Event e;
    e.kind = EvKind::Store;
    e.store = k;
    e.pa = pa;
    e.v[0] = v;
    r_.events.push_back(e);
  }

  Recording& r_;
  bool has128_;
  int words_ = 2;
  std::map<PhysAddr, uint64_t> mem_;
  PhysAddr next_page_ = 0x02000000;
};

// The shared machinery's services for one transition, as driver.cc's Ctx
// gives them (a device with ATS, the entry of kSid / kPasid).
class RecCtx final : public drv::WriterCtx {
 public:
  RecCtx(Recording& r, RecCpu& cpu, const drv::Caps& caps, uint16_t spare)
      : r_(r), cpu_(cpu), caps_(caps), spare_(spare) {}

  sim::CpuMemory& cpu() override { return cpu_; }
  const drv::Caps& caps() const override { return caps_; }
  void lock() override { cpu_.lock(1); }
  void unlock() override { cpu_.unlock(1); }
  void flush_cpu_cache(PhysAddr pa, size_t len) override {
    if (!caps_.coherent) cpu_.clflush(pa, len);
  }
  std::vector<Descriptor> inv_entry_cache(uint16_t did) override {
    switch (r_.t.at.kind) {
      case EntryKind::LegacyContext:
        return {sim::desc::context_device(did, kSid)};
      case EntryKind::ScalableContext:
        return {sim::desc::context_device(0, kSid)};
      default:
        return {sim::desc::pasid_cache_pasid(did, kPasid)};
    }
  }
  std::vector<Descriptor> inv_iotlb(const Entry& e) override {
    if (!e.present()) return {};
    uint16_t did = uint16_t(e.get(Field::DID));
    if (e.kind == EntryKind::LegacyContext) return {sim::desc::iotlb_domain(did)};
    if (e.kind != EntryKind::PasidEntry) return {};
    uint64_t pgtt = e.get(Field::PGTT);
    if (pgtt == sim::kPgttFirst || pgtt == sim::kPgttPassThrough)
      return {sim::desc::piotlb_pasid(did, kPasid)};
    return {sim::desc::iotlb_domain(did)};
  }
  std::vector<Descriptor> inv_devtlb() override { return {sim::desc::devtlb_all(kSid)}; }
  drv::Status submit(const std::vector<Descriptor>& batch) override {
    cpu_.fence();
    Event e;
    e.kind = EvKind::Group;
    e.group = uint32_t(r_.groups.size());
    r_.groups.push_back(batch);
    r_.events.push_back(e);
    cpu_.fence();
    return drv::Status::Ok;
  }
  void tag_add(drv::Side s, uint16_t did) override { tag(EvKind::TagAdd, s, did); }
  void tag_remove(drv::Side s, uint16_t did) override { tag(EvKind::TagRemove, s, did); }
  uint16_t alloc_did() override {
    if (taken_) return 0;
    taken_ = true;
    r_.temp_did = spare_;
    return spare_;
  }
  void free_did(uint16_t did) override {
    if (did == spare_) taken_ = false;
  }
  void free_page(PhysAddr pa) override { cpu_.free_page(pa); }

 private:
  void tag(EvKind k, drv::Side s, uint16_t did) {
    cpu_.fence();  // the driver edits cache tags under the domain's lock
    Event e;
    e.kind = k;
    e.side = s;
    e.did = did;
    r_.events.push_back(e);
    cpu_.fence();
  }

  Recording& r_;
  RecCpu& cpu_;
  drv::Caps caps_;
  uint16_t spare_;
  bool taken_ = false;
};

uint16_t did_of(const Entry& e) {
  return e.present() ? uint16_t(e.get(Field::DID)) : 0;
}

// How IOTLB fills through an entry are tagged (spec 6.2.1): 1 by DID
// (second-stage), 2 by DID and PASID (first-stage, nested), 0 none
// (pass-through). A torn DID pairing only aliases fills of one class.
int fill_class(const Entry& e) {
  if (e.kind == EntryKind::LegacyContext) return e.get(Field::TT) == sim::kTtPassThrough ? 0 : 1;
  switch (e.get(Field::PGTT)) {
    case sim::kPgttSecond:
      return 1;
    case sim::kPgttFirst:
    case sim::kPgttNested:
      return 2;
    default:
      return 0;
  }
}

// Two observations are one finding when the property judges them alike:
// P1 by shape, P3 always (not present is not present), the rest by
// configuration (DID included).
bool same_kind(const std::string& prop, const Entry& a, const Entry& b) {
  if (prop == "P1") return oracle::shape(a) == oracle::shape(b);
  if (prop == "P3") return true;
  return sim::config_of(a) == sim::config_of(b);
}

// ------------------------------------------------------------- explorer --

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
  Explorer(const Spec& s, Result& r) : s_(s), r_(r) {
    kind_ = s.kind();
    fw_ = fetch_words(kind_);
    qw_ = s.quantum_bits == 64 ? 1 : 2;
    nq_ = (fw_ + qw_ - 1) / qw_;
    old_shape_ = oracle::shape(s.old);
    new_shape_ = oracle::shape(s.target);
    target_cfg_ = sim::config_of(s.target);
    both_present_ = s.old.present() && s.target.present();
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
    r_.hitless_observed = both_present_ && !r_.saw_not_present && !torn_;
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

  // Would an entry-cache descriptor drop a cached copy of `e`?
  bool drops(const Descriptor& d, const Entry& e) const {
    const uint64_t g = d.granularity();
    const uint16_t did = uint16_t(d.w[0] >> 16);
    if (kind_ == EntryKind::PasidEntry) {
      if (d.type() != sim::kDescPasidCache) return false;
      const uint16_t line = uint16_t(e.get(Field::DID));
      if (g == 3) return true;
      if (g == 0) return did == line;
      if (g == 1)
        return (did == line || !e.present()) && uint32_t(d.w[0] >> 32 & 0xfffff) == kPasid;
      return false;
    }
    if (d.type() != sim::kDescContext) return false;
    // A legacy context line carries its DID (0 when not present, CM=1);
    // a scalable one carries none (invq.cc: the SID selects).
    const bool legacy = kind_ == EntryKind::LegacyContext;
    const uint16_t line = legacy ? did_of(e) : 0;
    if (g == 1) return true;
    if (g == 2) return did == line;
    if (g == 3) {
      const uint8_t fm = uint8_t(d.w[0] >> 48 & 3);
      const uint16_t mask = uint16_t(((1u << fm) - 1) << (3 - fm));
      const uint16_t sid = uint16_t(d.w[0] >> 32);
      return (sid & ~mask) == (kSid.v & ~mask) && (!legacy || did == line);
    }
    return false;
  }

  bool covered(const Entry& e, uint32_t from_group) const {
    const Recording& rec = r_.rec;
    for (uint32_t g = from_group; g < rec.groups.size(); ++g)
      for (const Descriptor& d : rec.groups[g])
        if (drops(d, e)) return true;
    return false;
  }

  void judge(const Words& w, uint32_t k, int drained_by) {
    Entry e = entry_of_words(w);
    auto key = std::make_pair(intern(w), k);
    if (!judged_.insert(key).second) return;
    observed_.insert(key.first);
    if (!e.present()) r_.saw_not_present = true;
    const Entry sh = oracle::shape(e);
    if (e.present() && !(sh == old_shape_) && !(sh == new_shape_)) {
      torn_ = true;
      add("P1", "the hardware assembled an entry that is neither the old nor the new configuration",
          e, drained_by);
    }
    // A DID tags the IOTLB, not the table (spec 6.2.1): an entry pairing
    // one side's translation with the other side's DID fills the IOTLB of
    // every device sharing that DID from the wrong table (B5).
    if (e.present() && both_present_ && e.has(Field::DID) && !(old_shape_ == new_shape_) &&
        fill_class(s_.old) && fill_class(s_.old) == fill_class(s_.target)) {
      const uint64_t d = e.get(Field::DID), od = s_.old.get(Field::DID),
                     nd = s_.target.get(Field::DID);
      if (od != nd && sh == old_shape_ && d == nd)
        add("P5",
            "the hardware assembled the old translation under the new DID " + std::to_string(nd), e,
            drained_by);
      if (od != nd && sh == new_shape_ && d == od)
        add("P5",
            "the hardware assembled the new translation under the old DID " + std::to_string(od), e,
            drained_by);
    }
    if (!e.present() && both_present_ && r_.hitless_declared)
      add("P3", "the writer declared this update hitless, but a fetch found the entry not present",
          e, drained_by);
    // What the hardware may keep in its context/PASID cache (walker.cc:
    // entries that decode, and with CM=1 anything) must be dropped by an
    // invalidation the writer submits after the fetch completed.
    const bool cacheable = s_.cm || sim::decode(e) == sim::FaultReason::None;
    if (cacheable && !(sim::config_of(e) == target_cfg_) && !covered(e, k)) {
      std::string tag = kind_ == EntryKind::PasidEntry
                            ? "PASID-cache (DID " + std::to_string(e.get(Field::DID)) + ")"
                        : kind_ == EntryKind::LegacyContext
                            ? "context-cache (DID " + std::to_string(did_of(e)) + ")"
                            : "context-cache";
      add("P4",
          "a fetched entry the hardware may cache in its " + tag +
              " is dropped by no entry-cache invalidation submitted after the fetch" +
              (k < ngroups_ ? " (from flush group " + std::to_string(k + 1) + " on)" : ""),
          e, drained_by);
    }
  }

  void add(const std::string& prop, const std::string& what, const Entry& e, int drained_by) {
    for (const Finding& f : r_.findings)
      if (f.property == prop && same_kind(prop, f.observed, e)) return;
    Finding f;
    f.property = prop;
    f.what = what;
    f.observed = e;
    f.drained_by = drained_by;
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
    if (sim::config_of(e) == target_cfg_) return;
    for (const Finding& f : r_.findings)
      if (f.property == "final" && same_kind("final", f.observed, e)) return;
    Finding f;
    f.property = "final";
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
  Entry old_shape_, new_shape_, target_cfg_;
  bool both_present_ = false;
  bool torn_ = false;
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

// Non-coherent: the contract asks for the target to be visible to the
// hardware when update() returns, so no store to the entry may follow the
// last clflush of its line (the oracle's end-of-op dirty-line rule).
void check_written_back(const Spec& s, Result& r) {
  if (s.coherent) return;
  const uint64_t bytes = 8ull * uint64_t(sim::format_of(s.kind()).words);
  int last_store = -1, last_flush = -1;
  for (size_t i = 0; i < r.rec.events.size(); ++i) {
    const Event& e = r.rec.events[i];
    if (e.kind == EvKind::Store) last_store = int(i);
    if (e.kind == EvKind::Clflush && e.pa < kEntryPa + bytes && kEntryPa < e.pa + e.len)
      last_flush = int(i);
  }
  if (last_store < 0 || last_flush > last_store) return;
  Finding f;
  f.property = "final";
  f.what = "update() returned with the entry's cache line dirty: no clflush after its last store";
  f.observed = s.target;
  r.findings.push_back(std::move(f));
}

// The cache-tag contract (writer.h) and the rule behind it: while the entry
// carries a DID, an unmap on the domain must flush that DID, so the DID must
// be tagged from before the entry carries it until after it stopped.
void check_tags(const Spec& s, Result& r) {
  const Recording& rec = r.rec;
  const drv::Transition& t = rec.t;
  if (!t.changes_domain || !s.old.has(Field::DID)) return;
  auto finding = [&](const std::string& what, const Entry& e) {
    for (const Finding& f : r.findings)
      if (f.property == "tags" && f.what == what) return;
    Finding f;
    f.property = "tags";
    f.what = what;
    f.observed = e;
    r.findings.push_back(std::move(f));
  };
  int adds = 0, removes = 0;
  std::map<uint16_t, int> tagged;
  if (t.old_did) tagged[t.old_did] = 1;
  Entry cur = s.old;
  uint32_t index = 0;
  for (const Event& e : rec.events) {
    switch (e.kind) {
      case EvKind::Store: {
        ++index;
        int w = int((e.pa - kEntryPa) / 8);
        int n = e.store == StoreKind::Wide ? 2 : 1;
        for (int i = 0; i < n; ++i)
          if (w + i >= 0 && w + i < entry_words(cur.kind)) cur.w[size_t(w + i)] = e.v[i];
        uint16_t d = did_of(cur);
        if (d && tagged[d] <= 0)
          finding("store " + std::to_string(index) + " makes the entry carry DID " +
                      std::to_string(d) + " before that DID is tagged (tag_add)",
                  cur);
        break;
      }
      case EvKind::TagAdd:
        if (e.side == drv::Side::New && e.did == t.new_did) ++adds;
        ++tagged[e.did];
        break;
      case EvKind::TagRemove:
        if (e.side == drv::Side::Old && e.did == t.old_did) ++removes;
        if (--tagged[e.did] <= 0 && e.did && did_of(cur) == e.did)
          finding("the tag of DID " + std::to_string(e.did) +
                      " is removed while the entry still carries it",
                  cur);
        break;
      default:
        break;
    }
  }
  if (adds != 1)
    finding("tag_add(New, " + std::to_string(t.new_did) + ") called " + std::to_string(adds) +
                " times (the contract: exactly once)",
            cur);
  if (removes != 1)
    finding("tag_remove(Old, " + std::to_string(t.old_did) + ") called " + std::to_string(removes) +
                " times (the contract: exactly once)",
            cur);
}

}  // namespace

// ----------------------------------------------------------------- spec --

drv::Caps Spec::caps() const {
  drv::Caps c;
  c.scalable = kind() != EntryKind::LegacyContext;
  c.coherent = coherent;
  c.cm = cm;
  c.cpu128 = cpu128;
  c.fetch128 = quantum_bits == 128;
  return c;
}

std::string Spec::variant() const {
  std::string v = cpu128 ? "cpu128" : "cpu64";
  v += quantum_bits == 64 ? " q64" : " q128";
  v += coherent ? " coherent" : " noncoherent";
  if (cm) v += " cm";
  return v;
}

Recording record(drv::Writer& w, const Spec& s) {
  Recording rec;
  rec.caps = s.caps();
  drv::Transition& t = rec.t;
  t.at.kind = s.kind();
  t.at.pa = kEntryPa;
  t.at.sid = kSid;
  t.at.pasid = s.kind() == EntryKind::PasidEntry ? kPasid : sim::kNoPasid;
  t.old = s.old;
  t.target = s.target;
  t.old_did = did_of(s.old);
  t.new_did = did_of(s.target);
  // A scalable context entry belongs to the device, not to a domain.
  t.changes_domain = s.kind() != EntryKind::ScalableContext;
  // A temporary DID no end of the transition uses.
  uint16_t spare = 100;
  while (spare == t.old_did || spare == t.new_did) ++spare;
  RecCpu cpu(rec, s.old, s.cpu128);
  RecCtx ctx(rec, cpu, rec.caps, spare);
  rec.status = w.update(ctx, t);
  cpu.fence();
  return rec;
}

Result check(drv::Writer& w, const Spec& s) {
  Result r;
  const drv::Caps caps = s.caps();
  if (!w.supports(caps)) {
    r.supported = false;
    return r;
  }
  r.rec = record(w, s);
  r.hitless_declared = w.hitless(caps, s.old, s.target);
  for (const std::string& p : r.rec.problems) {
    Finding f;
    f.property = "contract";
    f.what = p;
    r.findings.push_back(std::move(f));
  }
  if (r.rec.status != drv::Status::Ok) {
    Finding f;
    f.property = "contract";
    f.what = std::string("update() returned ") + drv::status_name(r.rec.status);
    r.findings.push_back(std::move(f));
  }
  Explorer(s, r).run();
  check_written_back(s, r);
  check_tags(s, r);
  return r;
}

// --------------------------------------------------------------- matrix --

namespace {
// Table roots of the two table sets (page-aligned, distinct per field).
constexpr PhysAddr kSsRoot[2] = {0x01100000, 0x01200000};
constexpr PhysAddr kFsRoot[2] = {0x01300000, 0x01400000};
constexpr PhysAddr kDirRoot[2] = {0x01500000, 0x01600000};
constexpr uint16_t kDidA = 5, kDidB = 6;
}  // namespace

Entry entry_of(EntryKind k, const End& e) {
  if (e.type == End::None) return Entry(k);
  switch (k) {
    case EntryKind::PasidEntry: {
      sim::PasidEntryFields f;
      f.did = e.did;
      f.fpd = e.flags & kFlagFpd;
      f.pgsnp = e.flags & kFlagPgsnp;
      switch (e.type) {
        case End::Second:
          f.pgtt = sim::kPgttSecond;
          f.aw = e.aw ? e.aw : 2;
          f.ssptptr = kSsRoot[e.roots & 1];
          break;
        case End::First:
          f.pgtt = sim::kPgttFirst;
          f.aw = 0;
          f.fsptptr = kFsRoot[e.roots & 1];
          break;
        case End::Nested:
          f.pgtt = sim::kPgttNested;
          f.aw = e.aw ? e.aw : 2;
          f.ssptptr = kSsRoot[e.roots & 1];
          f.fsptptr = kFsRoot[e.roots & 1];
          break;
        default:
          f.pgtt = sim::kPgttPassThrough;
          f.aw = e.aw ? e.aw : 3;
          break;
      }
      if (f.pgtt == sim::kPgttFirst || f.pgtt == sim::kPgttNested) {
        f.wpe = e.flags & kFlagWpe;
        f.sre = e.flags & kFlagSre;
      }
      return sim::encode(f);
    }
    case EntryKind::LegacyContext: {
      sim::LegacyContextFields f;
      f.did = e.did;
      f.fpd = e.flags & kFlagFpd;
      if (e.type == End::CtxPassThrough) {
        f.tt = sim::kTtPassThrough;
        f.aw = e.aw ? e.aw : 3;
      } else {
        f.tt = e.type == End::DevTlb ? sim::kTtDevTlb : sim::kTtTranslate;
        f.aw = e.aw ? e.aw : 2;
        f.ssptptr = kSsRoot[e.roots & 1];
      }
      return sim::encode(f);
    }
    default: {
      sim::ScalableContextFields f;
      f.fpd = e.flags & kFlagFpd;
      f.dte = e.flags & kFlagDte;
      f.paside = !(e.flags & kFlagNoPaside);
      f.pre = e.flags & kFlagPre;
      f.pasiddirptr = kDirRoot[e.roots & 1];
      f.rid_pasid = (e.flags & kFlagRidPasid) ? 1 : 0;
      return sim::encode(f);
    }
  }
}

std::string label_of(EntryKind k, const End& e) {
  static const char* const kTypes[] = {"np", "ss", "fs", "nest", "pt", "tr", "dt", "pt", "p"};
  std::string s = kTypes[e.type];
  if (e.type == End::None) return s;
  const bool has_did = k != EntryKind::ScalableContext;
  const bool has_roots = e.type != End::PassThrough && e.type != End::CtxPassThrough;
  if (has_did) s += ":" + std::to_string(e.did);
  if (has_roots) s += e.roots ? ":B" : ":A";
  if (e.aw) s += "/aw" + std::to_string(e.aw);
  static const struct {
    uint32_t bit;
    const char* name;
  } kFlags[] = {{kFlagFpd, "fpd"}, {kFlagPgsnp, "pgsnp"},  {kFlagWpe, "wpe"},
                {kFlagSre, "sre"}, {kFlagDte, "dte"},      {kFlagNoPaside, "nopaside"},
                {kFlagPre, "pre"}, {kFlagRidPasid, "rid1"}};
  for (const auto& f : kFlags)
    if (e.flags & f.bit) s += std::string("+") + f.name;
  return s;
}

std::string Row::kind_name() const {
  switch (kind) {
    case EntryKind::LegacyContext:
      return "context";
    case EntryKind::ScalableContext:
      return "sm-context";
    default:
      return "pasid";
  }
}

std::string Row::name() const {
  return kind_name() + " " + label_of(kind, from) + " -> " + label_of(kind, to) + " " +
         spec.variant();
}

namespace {

struct Pair {
  EntryKind kind;
  End from, to;
};

void add_pair(std::vector<Pair>& out, EntryKind k, const End& a, const End& b) {
  const Entry ea = entry_of(k, a), eb = entry_of(k, b);
  if (ea == eb) return;
  for (const Pair& p : out)
    if (p.kind == k && entry_of(k, p.from) == ea && entry_of(k, p.to) == eb) return;
  out.push_back({k, a, b});
}

End end(End::Type t, uint16_t did, int roots = 0, uint32_t flags = 0, uint8_t aw = 0) {
  End e;
  e.type = t;
  e.did = did;
  e.roots = roots;
  e.flags = flags;
  e.aw = aw;
  return e;
}

// Every pair of translation types, with the same or a different DID and
// the same or different table roots; and not present to and from each.
void type_pairs(std::vector<Pair>& out, EntryKind k, std::initializer_list<End::Type> types) {
  for (End::Type a : types)
    for (End::Type b : types)
      for (int dd = 0; dd < 2; ++dd)
        for (int rr = 0; rr < 2; ++rr)
          add_pair(out, k, end(a, kDidA), end(b, dd ? kDidB : kDidA, rr));
  for (End::Type a : types) {
    add_pair(out, k, end(End::None, 0), end(a, kDidA));
    add_pair(out, k, end(a, kDidA), end(End::None, 0));
  }
}

void pasid_pairs(std::vector<Pair>& out) {
  const EntryKind k = EntryKind::PasidEntry;
  const auto types = {End::Second, End::First, End::Nested, End::PassThrough};
  type_pairs(out, k, types);  // every PGTT pair
  // Flag changes (chunk 0: FPD, PGSNP; chunk 1: WPE, SRE), on and off, and
  // flags changing together with a table in the other chunk.
  for (End::Type a : types) {
    std::vector<uint32_t> flags = {kFlagFpd, kFlagPgsnp};
    if (a == End::First || a == End::Nested) flags.insert(flags.end(), {kFlagWpe, kFlagSre});
    for (uint32_t f : flags) {
      add_pair(out, k, end(a, kDidA), end(a, kDidA, 0, f));
      add_pair(out, k, end(a, kDidA, 0, f), end(a, kDidA));
    }
  }
  add_pair(out, k, end(End::First, kDidA), end(End::First, kDidA, 1, kFlagPgsnp));
  add_pair(out, k, end(End::First, kDidA), end(End::First, kDidB, 1, kFlagWpe));
  add_pair(out, k, end(End::Nested, kDidA), end(End::Nested, kDidA, 1, kFlagFpd | kFlagSre));
  add_pair(out, k, end(End::Second, kDidA), end(End::Second, kDidA, 0, kFlagPgsnp, 3));
}

void context_pairs(std::vector<Pair>& out) {
  const EntryKind k = EntryKind::LegacyContext;
  const auto types = {End::Translate, End::DevTlb, End::CtxPassThrough};
  type_pairs(out, k, types);
  // Address width (4- to 5-level), alone and with the root; FPD.
  add_pair(out, k, end(End::Translate, kDidA), end(End::Translate, kDidA, 0, 0, 3));
  add_pair(out, k, end(End::Translate, kDidA), end(End::Translate, kDidB, 1, 0, 3));
  add_pair(out, k, end(End::CtxPassThrough, kDidA), end(End::CtxPassThrough, kDidA, 0, 0, 2));
  for (End::Type a : types) {
    add_pair(out, k, end(a, kDidA), end(a, kDidA, 0, kFlagFpd));
    add_pair(out, k, end(a, kDidA, 0, kFlagFpd), end(a, kDidA));
  }
}

void sm_context_pairs(std::vector<Pair>& out) {
  const EntryKind k = EntryKind::ScalableContext;
  const End p = end(End::Present, 0);
  add_pair(out, k, end(End::None, 0), p);
  add_pair(out, k, p, end(End::None, 0));
  add_pair(out, k, end(End::None, 0), end(End::Present, 0, 0, kFlagDte));
  add_pair(out, k, p, end(End::Present, 0, 1));  // PASID directory pointer
  for (uint32_t f : {kFlagDte, kFlagNoPaside, kFlagPre, kFlagFpd, kFlagRidPasid}) {
    add_pair(out, k, p, end(End::Present, 0, 0, f));
    add_pair(out, k, end(End::Present, 0, 0, f), p);
  }
  add_pair(out, k, p, end(End::Present, 0, 1, kFlagRidPasid));  // both 64-bit halves
  add_pair(out, k, p, end(End::Present, 0, 1, kFlagDte));
}

}  // namespace

std::vector<Row> matrix(const MatrixOptions& o) {
  std::vector<Pair> pairs;
  if (o.kinds != KindSet::Pasid) {
    context_pairs(pairs);
    sm_context_pairs(pairs);
  }
  if (o.kinds != KindSet::Context) pasid_pairs(pairs);
  std::vector<Row> rows;
  for (bool cm : {false, true}) {
    if (cm && !o.cm) continue;
    for (bool coherent : {true, false}) {
      if (!coherent && !o.noncoherent) continue;
      for (bool cpu128 : {true, false})
        for (const Pair& p : pairs) {
          Row r;
          r.kind = p.kind;
          r.from = p.from;
          r.to = p.to;
          r.spec.old = entry_of(p.kind, p.from);
          r.spec.target = entry_of(p.kind, p.to);
          r.spec.cpu128 = cpu128;
          r.spec.quantum_bits = o.quantum_bits ? o.quantum_bits : (cpu128 ? 128 : 64);
          r.spec.coherent = coherent;
          r.spec.cm = cm;
          rows.push_back(r);
        }
    }
  }
  return rows;
}

namespace {
End end_from_bytes(EntryKind k, uint8_t t, uint8_t d, uint8_t f) {
  static constexpr uint16_t kDids[] = {kDidA, kDidB, 1, 7};
  End e;
  switch (k) {
    case EntryKind::PasidEntry: {
      static constexpr End::Type kTypes[] = {End::None, End::Second, End::First, End::Nested,
                                             End::PassThrough};
      e.type = kTypes[t % 5];
      e.flags = f & (kFlagFpd | kFlagPgsnp);
      if (e.type == End::First || e.type == End::Nested) e.flags |= f & (kFlagWpe | kFlagSre);
      if (e.type != End::First) e.aw = uint8_t(d >> 3 & 3);  // 0: default, else 1..3
      break;
    }
    case EntryKind::LegacyContext: {
      static constexpr End::Type kTypes[] = {End::None, End::Translate, End::DevTlb,
                                             End::CtxPassThrough};
      e.type = kTypes[t % 4];
      e.flags = f & kFlagFpd;
      e.aw = uint8_t(d >> 3 & 3);
      break;
    }
    default:
      e.type = (t & 1) ? End::Present : End::None;
      e.flags = f & (kFlagFpd | kFlagDte | kFlagNoPaside | kFlagPre | kFlagRidPasid);
      break;
  }
  if (e.type == End::None) return End();
  if (k != EntryKind::ScalableContext) e.did = kDids[d & 3];
  e.roots = d >> 2 & 1;
  return e;
}
}  // namespace

Row row_from_bytes(const uint8_t* data, size_t size) {
  auto byte = [&](size_t i) -> uint8_t { return i < size ? data[i] : 0; };
  static constexpr EntryKind kKinds[] = {EntryKind::PasidEntry, EntryKind::LegacyContext,
                                         EntryKind::ScalableContext};
  Row r;
  r.kind = kKinds[byte(0) % 3];
  const uint8_t p = byte(1);
  r.spec.quantum_bits = (p & 1) ? 64 : 128;
  r.spec.cpu128 = !(p & 2);
  r.spec.coherent = !(p & 4);
  r.spec.cm = p & 8;
  r.from = end_from_bytes(r.kind, byte(2), byte(3), byte(4));
  r.to = end_from_bytes(r.kind, byte(5), byte(6), byte(7));
  r.spec.old = entry_of(r.kind, r.from);
  r.spec.target = entry_of(r.kind, r.to);
  return r;
}

// ---------------------------------------------------------------- table --

std::string row_header() {
  char b[256];
  snprintf(b, sizeof b, "%-10s %-20s %-20s %-27s %6s %6s %8s %8s %13s %10s", "kind", "from", "to",
           "variant", "stores", "groups", "hitless", "observed", "interleavings", "violations");
  return b;
}

std::string row_text(const Row& row, const Result& r) {
  char b[320];
  const std::string from = label_of(row.kind, row.from), to = label_of(row.kind, row.to);
  if (!r.supported) {
    snprintf(b, sizeof b, "%-10s %-20s %-20s %-27s   (the writer does not support this platform)",
             row.kind_name().c_str(), from.c_str(), to.c_str(), row.spec.variant().c_str());
    return b;
  }
  const bool both = row.spec.old.present() && row.spec.target.present();
  snprintf(b, sizeof b, "%-10s %-20s %-20s %-27s %6u %6zu %8s %8s %13" PRIu64 " %10zu",
           row.kind_name().c_str(), from.c_str(), to.c_str(), row.spec.variant().c_str(),
           r.rec.stores, r.rec.groups.size(), r.hitless_declared ? "yes" : "no",
           !both ? "-" : (r.hitless_observed ? "yes" : "no"), r.interleavings, r.findings.size());
  return b;
}

std::vector<std::string> finding_lines(const Result& r, bool every) {
  std::vector<std::string> out;
  for (size_t i = 0; i < r.findings.size(); ++i) {
    const Finding& f = r.findings[i];
    size_t same = 0;
    bool first = true;
    for (size_t j = 0; j < r.findings.size(); ++j)
      if (r.findings[j].property == f.property) {
        ++same;
        first &= j >= i;
      }
    if (!every && !first) continue;
    std::string head = "  " + f.property;
    if (!every && same > 1) head += " (" + std::to_string(same) + " distinct, the first)";
    out.push_back(head + ": " + f.what);
    if (f.property != "contract") out.push_back("    observed: " + f.observed.str());
    if (f.witness.empty()) continue;
    std::string sched = "    schedule:";
    for (size_t k = 0; k < f.witness.size(); ++k) sched += (k ? ", " : " ") + f.witness[k];
    out.push_back(sched);
  }
  return out;
}

uint64_t signature(const std::string& writer, const Row& row, const Finding& f) {
  std::string s = f.property + " " + writer + " " + row.kind_name() + " " +
                  label_of(row.kind, row.from) + " " + label_of(row.kind, row.to);
  uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ uint8_t(c)) * 1099511628211ull;
  return h;
}

}  // namespace vtd::transitions

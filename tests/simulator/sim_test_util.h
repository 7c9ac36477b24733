// Helpers shared by the simulator suites: an event recorder, a scripted
// schedule, and a submitter for the invalidation queue.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "simulator/invq.h"
#include "simulator/machine.h"
#include "simulator/table_builder.h"

namespace vtd::sim {

// Readable values in GoogleTest failure messages.
inline void PrintTo(FaultReason r, std::ostream* os) {
  *os << fault_reason_name(r);
}
inline void PrintTo(DescError e, std::ostream* os) {
  *os << desc_error_name(e);
}
inline void PrintTo(EntryKind k, std::ostream* os) {
  *os << entry_kind_name(k);
}
inline void PrintTo(CacheKind k, std::ostream* os) {
  *os << cache_kind_name(k);
}
inline void PrintTo(Hazard h, std::ostream* os) {
  *os << hazard_name(h);
}
inline void PrintTo(PageType t, std::ostream* os) {
  *os << page_type_name(t);
}
inline void PrintTo(const Entry& e, std::ostream* os) {
  *os << entry_kind_name(e.kind) << "{" << e.str() << "}";
}
inline void PrintTo(const Sid& s, std::ostream* os) {
  *os << s.str();
}

}  // namespace vtd::sim

namespace vtd::sim::testutil {

// Records hardware events; the entry and translation behind an event's
// pointers are copied (they only live for the duration of the callback).
class Recorder : public Observer {
 public:
  struct Rec {
    HwEvent e;
    std::optional<Entry> entry;
    std::optional<Translation> xlat;
  };
  void on_event(const HwEvent& e) override {
    Rec r{e, std::nullopt, std::nullopt};
    if (e.entry) r.entry = *e.entry;
    if (e.xlat) r.xlat = *e.xlat;
    r.e.entry = nullptr;
    r.e.xlat = nullptr;
    events.push_back(r);
  }
  void clear() { events.clear(); }
  // One line per event: a trace for failure messages.
  std::string dump() const {
    std::string s;
    char buf[200];
    for (const Rec& r : events) {
      snprintf(buf, sizeof buf, "%s %s addr=0x%llx v0=0x%llx iova=0x%llx %s %s %s\n",
               event_kind_name(r.e.kind), entry_kind_name(r.e.entry_kind),
               (unsigned long long)r.e.addr, (unsigned long long)r.e.v0,
               (unsigned long long)r.e.iova, hazard_name(r.e.hazard), fault_reason_name(r.e.fault),
               r.entry ? r.entry->str().c_str() : "");
      s += buf;
    }
    return s;
  }
  std::vector<Rec> of(EventKind k) const {
    std::vector<Rec> out;
    for (const Rec& r : events)
      if (r.e.kind == k) out.push_back(r);
    return out;
  }
  size_t count(EventKind k) const { return of(k).size(); }
  // Last fully assembled entry of a kind (EntryFetched).
  std::optional<Entry> last_fetched(EntryKind k) const {
    std::optional<Entry> out;
    for (const Rec& r : events)
      if (r.e.kind == EventKind::EntryFetched && r.e.entry_kind == k) out = r.entry;
    return out;
  }
  std::vector<Hazard> hazards() const {
    std::vector<Hazard> out;
    for (const Rec& r : events)
      if (r.e.kind == EventKind::UnsafeRead) out.push_back(r.e.hazard);
    return out;
  }
  bool has_hazard(Hazard h) const {
    for (Hazard x : hazards())
      if (x == h) return true;
    return false;
  }
  std::vector<Rec> events;
};

// A schedule whose choices are scripted by the test: store delays are taken
// from a queue (0 when empty), the chunk order is a fixed permutation index,
// and every visible store is recorded in visibility order.
class ScriptedSchedule : public Schedule {
 public:
  uint32_t choose(ChoiceKind k, uint32_t n) override {
    if (k == ChoiceKind::ChunkOrder) return chunk_order % n;
    if (delays.empty()) return 0;
    uint32_t d = delays.front();
    delays.pop_front();
    return d % n;
  }
  void preempt(const PreemptPoint& p) override {
    if (p.kind == PointKind::Store) visible.push_back(p);
    if (on_preempt) on_preempt(p);
  }
  std::deque<uint32_t> delays;
  uint32_t chunk_order = 0;
  std::vector<PreemptPoint> visible;
  std::function<void(const PreemptPoint&)> on_preempt;
};

// Invalidation queue driven through CPU stores and registers.
class QueueDriver {
 public:
  QueueDriver(Machine& m, bool dw256 = false, int cpu = 0) : m_(m), cpu_(m.cpu(cpu)), dw_(dw256) {
    page_ = cpu_.alloc_page(PageType::Queue);
    reset();
  }
  // Reprograms IQA (head = tail = 0) and clears the error bits.
  void reset() {
    cpu_.mmio_write(Reg::FSTS, fsts::IQE | fsts::ICE | fsts::ITE);
    cpu_.mmio_write(Reg::IQA, page_ | (dw_ ? iqa::DW : 0));
    // Queue processing on, translation as it was (GCMD states both).
    const uint64_t te = cpu_.mmio_read(Reg::GSTS) & gsts::TES ? gcmd::TE : 0;
    cpu_.mmio_write(Reg::GCMD, te | gcmd::QIE);
    tail_ = 0;
  }
  uint32_t bytes() const { return dw_ ? 32 : 16; }
  PhysAddr page() const { return page_; }
  // Writes a descriptor at the tail (does not ring the doorbell).
  void put(const Descriptor& d) {
    for (uint32_t i = 0; i < bytes() / 8; ++i) cpu_.write64(page_ + tail_ + 8 * i, d.w[i]);
    tail_ = (tail_ + bytes()) % kPageSize;
  }
  // Writes the descriptors, moves IQT and lets the hardware process them.
  uint32_t submit(std::initializer_list<Descriptor> ds) {
    for (const Descriptor& d : ds) put(d);
    cpu_.mmio_write(Reg::IQT, tail_);
    return m_.iommu.process_queue();
  }
  uint64_t fsts() { return cpu_.mmio_read(Reg::FSTS); }
  uint64_t head() { return cpu_.mmio_read(Reg::IQH); }
  uint64_t tail() const { return tail_; }

 private:
  Machine& m_;
  SimCpu& cpu_;
  bool dw_;
  PhysAddr page_ = 0;
  uint64_t tail_ = 0;
};

// Nested setups: first-stage table pages live at GPA = HPA (the second
// stage maps them 1:1, so the walk is the same whether or not the model
// translates table pointers), data at GPA = HPA + kDataGpaOffset (the
// second stage maps it back: the first-stage output is translated).
constexpr uint64_t kTableGpaOffset = 0;
constexpr uint64_t kDataGpaOffset = 0x100000000ull;

// One machine, its table builder and an event recorder.
struct Env {
  explicit Env(const Config& cfg = Config{})
      : m(std::make_unique<Machine>(cfg)), b(std::make_unique<TableBuilder>(*m)) {
    m->iommu.set_observer(&rec);
  }
  Recorder rec;
  std::unique_ptr<Machine> m;
  std::unique_ptr<TableBuilder> b;

  Iommu& iommu() { return m->iommu; }
  Caches& caches() { return m->iommu.caches(); }
  SimCpu& cpu() { return b->cpu(); }
  Translation translate(Sid sid, uint32_t pasid, Iova iova, Access a = Access::Read) {
    return m->iommu.translate(WalkRequest{sid, pasid, iova, a});
  }
  Entry read(EntryKind k, PhysAddr pa) { return b->read_entry(k, pa); }
  void edit(EntryKind k, PhysAddr pa, const std::function<void(Entry&)>& f,
            StoreKind s = StoreKind::Plain64) {
    Entry e = read(k, pa);
    f(e);
    b->write_entry(pa, e, s);
  }
  // Drops every cached translation structure (as global invalidations would).
  void flush_caches() {
    caches().ctx_inv_global();
    caches().pasid_inv_global();
    caches().iotlb_inv(true, 0, kNoPasid, AddrRange{}, false);
  }
};

// A device with one translation set up by the builder.
struct Device {
  Sid sid;
  uint32_t pasid = kNoPasid;  // PASID of the entry (scalable), RID_PASID included
  uint8_t pgtt = 0;
  uint16_t did = 0;
  PageTables ss, fs;
  PhysAddr ctx_pa = 0, dir_entry_pa = 0, pe_pa = 0;
};

// Scalable mode: context entry (RID_PASID = rid_pasid, PDTS = 0) and a PASID
// entry of type `pgtt` at `pasid` mapping iova -> pa (4 KiB) through fresh
// tables of `levels` levels (both stages; nested first stage via GPAs).
inline Device add_scalable(Env& env, Sid sid, uint32_t pasid, uint8_t pgtt, uint16_t did, Iova iova,
                           PhysAddr pa, uint8_t levels = 4, bool writable = true,
                           uint32_t rid_pasid = 0, bool dte = false) {
  TableBuilder& b = *env.b;
  Device d;
  d.sid = sid;
  d.pasid = pasid;
  d.pgtt = pgtt;
  d.did = did;
  const PageTables* ss = nullptr;
  const PageTables* fs = nullptr;
  switch (pgtt) {
    case kPgttSecond:
      d.ss = b.new_tables(false, levels);
      b.map(d.ss, iova, pa, MapOpts{1, writable});
      ss = &d.ss;
      break;
    case kPgttFirst:
      d.fs = b.new_tables(true, levels);
      b.map(d.fs, iova, pa, MapOpts{1, writable});
      fs = &d.fs;
      break;
    case kPgttNested:
      d.ss = b.new_tables(false, levels);
      d.fs = b.new_nested_tables(levels, d.ss, kTableGpaOffset);
      b.map(d.fs, iova, pa + kDataGpaOffset, MapOpts{1, writable});
      b.map(d.ss, pa + kDataGpaOffset, pa);
      ss = &d.ss;
      fs = &d.fs;
      break;
    default:
      break;
  }
  ScalableContextFields cf;
  cf.rid_pasid = rid_pasid;
  cf.dte = dte;
  d.ctx_pa = b.set_context(sid, cf);
  d.pe_pa = b.set_pasid_entry(sid, pasid, TableBuilder::pasid_fields(pgtt, did, ss, fs));
  d.dir_entry_pa = b.pasid_dir_entry_pa(sid, pasid);
  return d;
}

// Legacy mode: context entry of type tt mapping iova -> pa through fresh
// second-stage tables.
inline Device add_legacy(Env& env, Sid sid, uint8_t tt, uint16_t did, Iova iova, PhysAddr pa,
                         uint8_t levels = 4, bool writable = true) {
  TableBuilder& b = *env.b;
  Device d;
  d.sid = sid;
  d.pgtt = tt == kTtPassThrough ? kPgttPassThrough : kPgttSecond;
  d.did = did;
  d.ss = b.new_tables(false, levels);
  b.map(d.ss, iova, pa, MapOpts{1, writable});
  d.ctx_pa = b.set_context(sid, TableBuilder::legacy_fields(tt, did, d.ss));
  return d;
}

inline Config legacy_config() {
  Config c;
  c.scalable = false;
  return c;
}

inline std::string sanitize(std::string s) {
  for (char& c : s)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

}  // namespace vtd::sim::testutil

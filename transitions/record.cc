// Recording (transitions.h): what a writer does for one transition, through
// a CpuMemory and a WriterCtx of the checker's own.
#include <map>

#include "driver/invalidation.h"
#include "transitions/internal.h"

namespace vtd::transitions {

using sim::hex;
using sim::PhysAddr;
using namespace detail;  // Entry, EntryKind, Field, Descriptor

namespace {

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
  // The same policy as the driver's (driver/invalidation.h), for a device
  // with ATS at kSid, requests without PASID.
  std::vector<Descriptor> inv_entry_cache(uint16_t did) override {
    return drv::inv::entry_cache(r_.t.at.kind, kSid, kPasid, did);
  }
  std::vector<Descriptor> inv_iotlb(const Entry& e) override { return drv::inv::iotlb(e, kPasid); }
  std::vector<Descriptor> inv_devtlb() override {
    return drv::inv::devtlb(kSid, kPasid, true, false);
  }
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

}  // namespace

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

}  // namespace vtd::transitions

// Helpers shared by the driver suites: a rig (machine + writer + driver), a
// timeline of what the hardware can see while an op runs (every value a
// watched entry takes in the hardware's view, interleaved with the
// invalidation descriptors the queue processes), reference reads of the
// translation structures, and predicates over descriptors named after the
// rules of VTD-REFERENCE.md "What software must do".
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "driver/driver.h"
#include "driver/writer.h"
#include "simulator/formats.h"
#include "simulator/invq.h"
#include "simulator/machine.h"

namespace vtd::drvtest {

using drv::DomainId;
using drv::DomainType;
using drv::Driver;
using drv::Status;
using sim::Descriptor;
using sim::Entry;
using sim::EntryKind;
using sim::Field;
using sim::Iova;
using sim::PhysAddr;
using sim::Sid;

// The seven writers of DESIGN.md section 5 (the catalog-bug writers are
// exercised by the oracle's catalog tests, not here).
inline const std::vector<std::string>& main_writers() {
  static const std::vector<std::string> w = {
      "legacy",         "atomic128-v1", "teardown-replace",  "fs-inplace-did",
      "cache-tag-late", "entry-sync",   "entry-sync-tempdid"};
  return w;
}
// Writers expected to follow every invalidation rule.
inline const std::vector<std::string>& rule_writers() {
  static const std::vector<std::string> w = {"teardown-replace", "entry-sync",
                                             "entry-sync-tempdid"};
  return w;
}

inline std::string param_name(std::string s) {
  for (char& c : s)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

constexpr PhysAddr kDataBase = 0x200000;  // PhysMemory::Layout::data_base
inline PhysAddr data_pa(uint32_t n) {
  return kDataBase + uint64_t(n) * sim::kPageSize;
}

// One platform variant (the fields of sim::Config the driver depends on).
struct Platform {
  bool scalable = true;
  bool cpu128 = true;
  bool coherent = true;
  bool cm = false;

  sim::Config config() const {
    sim::Config c;
    c.scalable = scalable;
    c.cpu128 = cpu128;
    c.coherent = coherent;
    c.caching_mode = cm;
    return c;
  }
  std::string name() const {
    std::string s = scalable ? "scalable" : "legacy";
    s += cpu128 ? "_cx16" : "_no_cx16";
    s += coherent ? "_coherent" : "_noncoherent";
    if (cm) s += "_cm";
    return s;
  }
};

// The four store/coherency variants of one mode.
inline std::vector<Platform> store_variants(bool scalable, bool cm = false) {
  std::vector<Platform> v;
  for (bool cpu128 : {true, false})
    for (bool coherent : {true, false}) v.push_back(Platform{scalable, cpu128, coherent, cm});
  return v;
}

// ------------------------------------------------------------ descriptors --

inline uint16_t desc_did(const Descriptor& d) {
  return uint16_t(d.w[0] >> 16);
}
inline uint32_t desc_pasid(const Descriptor& d) {
  return uint32_t(d.w[0] >> 32 & 0xfffff);
}
inline Sid desc_sid(const Descriptor& d) {
  return Sid(uint16_t(d.type() == sim::kDescPasidDevTlb ? d.w[0] >> 16 : d.w[0] >> 32));
}
inline bool is_devtlb(const Descriptor& d) {
  return d.type() == sim::kDescDevTlb || d.type() == sim::kDescPasidDevTlb;
}

// PASID-cache invalidation, PASID-selective, naming `did` and `pasid`.
inline bool pasid_cache_selective(const Descriptor& d, uint16_t did, uint32_t pasid) {
  return d.type() == sim::kDescPasidCache && d.granularity() == 1 && desc_did(d) == did &&
         desc_pasid(d) == pasid;
}
// Context-cache invalidation, device-selective, naming `did` and `sid`.
inline bool context_device_selective(const Descriptor& d, uint16_t did, Sid sid) {
  return d.type() == sim::kDescContext && d.granularity() == 3 && desc_did(d) == did &&
         desc_sid(d) == sid && (d.w[0] >> 48 & 3) == 0;
}
// Any context-cache invalidation that drops a scalable-mode entry of `sid`.
inline bool context_covers_sid(const Descriptor& d, Sid sid) {
  return d.type() == sim::kDescContext &&
         (d.granularity() == 1 || (d.granularity() == 3 && desc_sid(d) == sid));
}
// PASID-based IOTLB invalidation of everything in (did, pasid).
inline bool piotlb_pasid(const Descriptor& d, uint16_t did, uint32_t pasid) {
  return d.type() == sim::kDescPasidIotlb && d.granularity() == 2 && desc_did(d) == did &&
         desc_pasid(d) == pasid;
}
// Domain-selective IOTLB invalidation of `did`.
inline bool iotlb_domain(const Descriptor& d, uint16_t did) {
  return d.type() == sim::kDescIotlb && d.granularity() == 2 && desc_did(d) == did;
}
// Device-TLB invalidation of everything `sid` cached for `pasid` (RID_PASID:
// the global, non-PASID form).
inline bool devtlb_all_for(const Descriptor& d, Sid sid, uint32_t pasid) {
  if (pasid == drv::kRidPasid || pasid == sim::kNoPasid)
    return d.type() == sim::kDescDevTlb && desc_sid(d) == sid &&
           d.w[1] == sim::desc::devtlb_all(sid).w[1];
  return d.type() == sim::kDescPasidDevTlb && desc_sid(d) == sid && desc_pasid(d) == pasid &&
         ((d.w[1] & 1) || d.w[1] == sim::desc::pdevtlb(sid, pasid, 0, 64).w[1]);
}
// The IOTLB invalidation the rules name for translations cached through a
// PASID entry value: PASID-based for first-stage and pass-through,
// domain-selective for second-stage and nested; for a legacy context entry:
// domain-selective.
inline bool iotlb_for_entry(const Descriptor& d, const Entry& e, uint32_t pasid) {
  uint16_t did = uint16_t(e.get(Field::DID));
  if (e.kind == EntryKind::PasidEntry) {
    uint64_t pgtt = e.get(Field::PGTT);
    if (pgtt == sim::kPgttFirst || pgtt == sim::kPgttPassThrough)
      return piotlb_pasid(d, did, pasid);
  }
  return iotlb_domain(d, did);
}

// ----------------------------------------------------------- the timeline --

// What the hardware can see while an op runs. It is both the Observer
// (processed descriptors, queue errors) and the Schedule (every store or
// write-back that becomes visible). At each such point it re-reads the
// watched entries through the hardware's view of memory (DRAM on a
// non-coherent platform) and records a Value item when one changed.
class Timeline : public sim::Observer, public sim::Schedule {
 public:
  struct Item {
    enum Kind : uint8_t { Value, Desc, QueueError };
    Kind kind = Value;
    int slot = 0;  // Value: which watched entry
    Entry value;
    Descriptor desc;
    uint64_t fsts_bit = 0;
    bool injected = false;
  };

  // Watched entries: a function returning the entry's current hardware view.
  int watch(std::function<Entry()> f) {
    watches_.push_back(std::move(f));
    last_.push_back(watches_.back()());
    return int(watches_.size()) - 1;
  }
  // Starts a fresh recording; the first item of each slot is its value now.
  void start() {
    items.clear();
    for (size_t i = 0; i < watches_.size(); ++i) {
      last_[i] = watches_[i]();
      items.push_back(Item{Item::Value, int(i), last_[i], {}, 0, false});
    }
    recording_ = true;
  }
  void stop() {
    sample();
    recording_ = false;
  }
  // Stores may be delayed by up to this many later stores (0: program order).
  void set_store_delay(uint32_t d) { delay_ = d; }
  // Called at every preemption point (after recording it).
  std::function<void(const sim::PreemptPoint&)> on_preempt;

  void on_event(const sim::HwEvent& e) override {
    if (!recording_) return;
    if (e.kind == sim::EventKind::Descriptor) {
      sample();
      Item it;
      it.kind = Item::Desc;
      it.desc.w[0] = e.v0;
      it.desc.w[1] = e.v1;
      items.push_back(it);
    } else if (e.kind == sim::EventKind::QueueError) {
      Item it;
      it.kind = Item::QueueError;
      it.fsts_bit = e.v0;
      it.injected = e.injected;
      items.push_back(it);
    }
  }
  uint32_t choose(sim::ChoiceKind k, uint32_t n) override {
    return k == sim::ChoiceKind::StoreDelay ? std::min(delay_, n - 1) : 0;
  }
  void preempt(const sim::PreemptPoint& p) override {
    if (recording_) sample();
    if (on_preempt) on_preempt(p);
  }

  std::vector<Descriptor> descriptors() const {
    std::vector<Descriptor> v;
    for (const Item& it : items)
      if (it.kind == Item::Desc && it.desc.type() != sim::kDescWait) v.push_back(it.desc);
    return v;
  }
  size_t queue_errors(bool injected) const {
    size_t n = 0;
    for (const Item& it : items) n += it.kind == Item::QueueError && it.injected == injected;
    return n;
  }
  // One line per item, for failure messages.
  std::string str() const {
    std::string s;
    for (size_t i = 0; i < items.size(); ++i) {
      const Item& it = items[i];
      s += std::to_string(i) + ": ";
      switch (it.kind) {
        case Item::Value:
          s += "value[" + std::to_string(it.slot) + "] " + it.value.str();
          break;
        case Item::Desc:
          s += "desc " + it.desc.str();
          break;
        case Item::QueueError:
          s += "queue-error " + std::to_string(it.fsts_bit);
          break;
      }
      s += "\n";
    }
    return s;
  }

  std::vector<Item> items;

 private:
  void sample() {
    for (size_t i = 0; i < watches_.size(); ++i) {
      Entry e = watches_[i]();
      if (e == last_[i]) continue;
      last_[i] = e;
      items.push_back(Item{Item::Value, int(i), e, {}, 0, false});
    }
  }
  std::vector<std::function<Entry()>> watches_;
  std::vector<Entry> last_;
  bool recording_ = false;
  uint32_t delay_ = 0;
};

// ------------------------------------------------------------------- rig --

// One platform, one writer, one driver; the timeline is attached as both
// observer and schedule.
class Rig {
 public:
  Rig(const Platform& p, std::string_view writer)
      : platform(p), m(p.config()), w(drv::make_writer(writer)), d(m.cpu0, *w) {
    m.iommu.set_observer(&tl);
    m.set_schedule(&tl);
    init_status = d.init();
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  Platform platform;
  sim::Machine m;
  std::unique_ptr<drv::Writer> w;
  Driver d;
  Timeline tl;
  Status init_status = Status::Inval;

  // Plugs the device on the hardware side and probes it.
  Status add_device(Sid sid, bool ats, bool pasid = true) {
    m.iommu.device_plug(sid, ats);
    return d.probe(sid, {ats, pasid});
  }

  uint64_t ld(PhysAddr pa) const { return m.mem.hw_load(pa); }
  Entry hw_read(EntryKind k, PhysAddr pa) const {
    Entry e(k);
    for (int i = 0; i < sim::format_of(k).words; ++i) e.w[size_t(i)] = ld(pa + 8ull * i);
    return e;
  }
  bool is(PhysAddr pa, sim::PageType t) const { return m.mem.type(pa) == t; }

  // Reference reads through the hardware view (what the walker would read).
  // The context entry of `sid`, if its root entry leads to one.
  std::optional<PhysAddr> context_pa(Sid sid) const {
    PhysAddr root = m.iommu.rtaddr() & ~(sim::kPageSize - 1);
    if (!root || !is(root, sim::PageType::Root)) return std::nullopt;
    if (!platform.scalable) {
      Entry re = hw_read(EntryKind::LegacyRoot, root + 16ull * sid.bus());
      if (!re.present() || !is(re.get(Field::CTP), sim::PageType::Context)) return std::nullopt;
      return re.get(Field::CTP) + 16ull * sid.devfn();
    }
    Entry re = hw_read(EntryKind::ScalableRoot, root + 16ull * sid.bus());
    bool upper = sid.devfn() >= 128;
    if (!re.get(upper ? Field::UP : Field::LP)) return std::nullopt;
    PhysAddr ct = re.get(upper ? Field::UCTP : Field::LCTP);
    if (!is(ct, sim::PageType::Context)) return std::nullopt;
    return ct + 32ull * (sid.devfn() & 0x7f);
  }
  Entry hw_context(Sid sid) const {
    EntryKind k = platform.scalable ? EntryKind::ScalableContext : EntryKind::LegacyContext;
    auto pa = context_pa(sid);
    return pa ? hw_read(k, *pa) : Entry(k);
  }
  // Scalable: the PASID entry of (sid, pasid), RID_PASID = 0.
  std::optional<PhysAddr> pasid_entry_pa(Sid sid, uint32_t pasid) const {
    auto cpa = context_pa(sid);
    if (!cpa || !platform.scalable) return std::nullopt;
    Entry ce = hw_read(EntryKind::ScalableContext, *cpa);
    if (!ce.present() || !is(ce.get(Field::PASIDDIRPTR), sim::PageType::PasidDir))
      return std::nullopt;
    Entry de = hw_read(EntryKind::PasidDir, ce.get(Field::PASIDDIRPTR) + 8ull * (pasid >> 6));
    if (!de.present() || !is(de.get(Field::SMPTBLPTR), sim::PageType::PasidTable))
      return std::nullopt;
    return de.get(Field::SMPTBLPTR) + 64ull * (pasid & 0x3f);
  }
  // The entry that attaches (sid, pasid): the PASID entry in scalable mode
  // (pasid 0 for the RID), the context entry in legacy mode. Not-present
  // (all zero) when nothing leads to it.
  Entry hw_entry(Sid sid, uint32_t pasid = drv::kRidPasid) const {
    if (!platform.scalable) return hw_context(sid);
    auto pa = pasid_entry_pa(sid, pasid);
    return pa ? hw_read(EntryKind::PasidEntry, *pa) : Entry(EntryKind::PasidEntry);
  }
  int watch_entry(Sid sid, uint32_t pasid = drv::kRidPasid) {
    return tl.watch([this, sid, pasid] { return hw_entry(sid, pasid); });
  }
  int watch_context(Sid sid) {
    return tl.watch([this, sid] { return hw_context(sid); });
  }

  // Drops every cached structure (as global invalidations would), so that a
  // translation reads memory.
  void flush_caches() {
    auto& c = m.iommu.caches();
    c.ctx_inv_global();
    c.pasid_inv_global();
    c.iotlb_inv(true, 0, sim::kNoPasid, sim::AddrRange{}, false);
    while (c.evict(sim::CacheKind::DevTlb, 0)) {
    }
  }
  // A translation request; pasid kNoPasid (or kRidPasid) for requests without PASID.
  sim::Translation translate(Sid sid, uint32_t pasid, Iova iova,
                             sim::Access a = sim::Access::Read) {
    if (pasid == drv::kRidPasid) pasid = sim::kNoPasid;
    return m.iommu.translate({sid, pasid, iova, a});
  }
  sim::DmaResult dma_write(Sid sid, uint32_t pasid, Iova iova, uint64_t value) {
    if (pasid == drv::kRidPasid) pasid = sim::kNoPasid;
    return m.iommu.dma({sid, pasid, iova, sim::Access::Write, value});
  }
  sim::DmaResult dma_read(Sid sid, uint32_t pasid, Iova iova) {
    if (pasid == drv::kRidPasid) pasid = sim::kNoPasid;
    return m.iommu.dma({sid, pasid, iova, sim::Access::Read, 0});
  }
};

// Index of the first descriptor after `from` matching `pred`, or npos.
inline size_t find_desc(const Timeline& tl, size_t from,
                        const std::function<bool(const Descriptor&)>& pred) {
  for (size_t i = from + 1; i < tl.items.size(); ++i)
    if (tl.items[i].kind == Timeline::Item::Desc && pred(tl.items[i].desc)) return i;
  return std::string::npos;
}

// Everything a failed call must leave unchanged.
struct Snapshot {
  std::string dump;
  size_t pages_in_use = 0;
  size_t dids_in_use = 0;
  // Every allocated pool page: its type, then (except the invalidation
  // queue, which the hardware consumes) its words as the CPU and as the
  // hardware see them.
  std::map<PhysAddr, std::vector<uint64_t>> pages;
};

inline Snapshot take(const Rig& r) {
  Snapshot s;
  s.dump = r.d.dump();
  // "gone" records a hardware fact (surprise removal), not driver state that
  // a failed call must roll back: a failed release leaves the device gone.
  for (size_t at = 0; (at = s.dump.find(" gone=", at)) != std::string::npos;) s.dump.erase(at, 7);
  s.pages_in_use = r.m.mem.pages_in_use();
  s.dids_in_use = r.d.dids_in_use();
  const auto& layout = r.m.mem.layout();
  for (uint32_t i = 0; i < layout.pool_pages; ++i) {
    const PhysAddr pa = layout.pool_base + uint64_t(i) * sim::kPageSize;
    const sim::PageType t = r.m.mem.type(pa);
    if (t == sim::PageType::Free) continue;
    std::vector<uint64_t>& v = s.pages[pa];
    v.push_back(uint64_t(t));
    if (t == sim::PageType::Queue) continue;
    for (uint64_t w = 0; w < sim::kPageSize / 8; ++w) v.push_back(r.m.mem.load(pa + 8 * w));
    for (uint64_t w = 0; w < sim::kPageSize / 8; ++w) v.push_back(r.m.mem.hw_load(pa + 8 * w));
  }
  return s;
}

inline void ExpectUnchanged(const Snapshot& before, const Snapshot& after) {
  EXPECT_EQ(before.dump, after.dump);
  EXPECT_EQ(before.pages_in_use, after.pages_in_use) << "pages leaked or freed";
  EXPECT_EQ(before.dids_in_use, after.dids_in_use) << "DIDs leaked or freed";
  for (const auto& [pa, v] : before.pages) {
    auto it = after.pages.find(pa);
    if (it == after.pages.end()) {
      ADD_FAILURE() << "page 0x" << std::hex << pa << " was freed";
      continue;
    }
    if (it->second[0] != v[0]) {
      ADD_FAILURE() << "page 0x" << std::hex << pa << " changed type";
      continue;
    }
    for (size_t i = 1; i < v.size(); ++i)
      if (it->second[i] != v[i]) {
        const bool hw = i > sim::kPageSize / 8;
        const uint64_t word = (i - 1) % (sim::kPageSize / 8);
        ADD_FAILURE() << (hw ? "hardware" : "CPU") << " view of 0x" << std::hex << pa + 8 * word
                      << " changed: 0x" << v[i] << " -> 0x" << it->second[i];
        break;
      }
  }
  for (const auto& [pa, v] : after.pages)
    if (!before.pages.count(pa)) ADD_FAILURE() << "page 0x" << std::hex << pa << " leaked";
}

}  // namespace vtd::drvtest

// The oracle (DESIGN.md section 6): an abstract model of the iommu-core API
// and the properties P1-P8, judged from API calls and hardware events only
// (plus reference reads of hardware-visible memory, reference.h). It never
// looks inside a writer; it holds the writer to its hitless() promise.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "driver/driver.h"
#include "driver/writer.h"
#include "oracle/event_ring.h"
#include "oracle/model.h"
#include "oracle/properties.h"
#include "oracle/reference.h"
#include "simulator/events.h"
#include "simulator/flat_map.h"
#include "simulator/machine.h"
#include "simulator/slot_stack.h"
#include "simulator/translation.h"

namespace vtd::oracle {

struct Violation {
  Property property = Property::P1;
  uint32_t op_index = 0;
  std::string op_text;
  std::string point;                 // "store 3", "wait 1", or "end" (checked when the op returned)
  std::string what;                  // one line
  std::vector<std::string> details;  // entries decoded: old / new / observed, cache lines
  std::vector<std::string> events;   // the last hardware events, oldest first
  std::string sig_text;              // property, writer, op kind, entry kind
  uint64_t signature = 0;

  // signature = FNV-1a of sig_text: the same text, the same signature, in
  // every run and process.
  void sign() {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : sig_text) h = (h ^ c) * 1099511628211ull;
    signature = h;
  }
};

class Oracle final : public sim::Observer, public drv::DriverObserver {
 public:
  Oracle(const sim::Machine& m, const drv::Writer& writer, std::string writer_name);
  // The same judge over memory and a unit that are not one Machine's: a
  // vIOMMU guest's view (targets/viommu.h) is the host's memory and the
  // registers and caches the guest's virtual unit stands for.
  Oracle(const sim::PhysMemory& mem, const sim::Iommu& iommu, const drv::Writer& writer,
         std::string writer_name);

  // Every op is bracketed: the outer op on cpu 0, a nested op on cpu 1.
  void begin(uint32_t op_index, const ApiCall& c, int cpu);
  void end(drv::Status st);
  // The outer op reached a schedule point (reports name it).
  void point(sim::PointKind k, uint32_t index);
  // Live update: the kexec op's shutdown is done and the unpreserved pages
  // are about to go (lu_checks.cc: P10, and what P11 and P12 judge by).
  void kexec();

  void on_event(const sim::HwEvent& e) override;
  // The driver's cache-tag tracepoints: which DIDs an unmap on a domain
  // flushes for a device and PASID (a temporary DID is tagged on both
  // domains of a replace, seeds/001).
  void on_cache_tag(drv::DomainId dom, const drv::CacheTag& t, bool added) override;

  // A vIOMMU guest's memory ends at `limit` (DESIGN.md section 13, P14): a
  // translation to an address beyond it is the host's second stage's
  // fault, so a DMA there may only fault.
  void set_memory_limit(sim::PhysAddr limit) { memory_limit_ = limit; }

  bool violated() const { return violated_; }
  const Violation& violation() const { return v_; }

  // The abstract model, read-only (the fuzz target's state features).
  // During an op it still shows the state from before the op.
  const Model& model() const { return model_; }

 private:
  struct InFlight {
    ApiCall call;
    uint32_t op_index = 0;
    int cpu = 0;
    std::vector<Move> trans;
    // Entry values when a nested op (second CPU) returned: legal states for
    // fetches later in this op, like the values at its start and end.
    std::map<sim::PhysAddr, std::vector<sim::Entry>> settled;
  };
  // Where in the outer op an observation was made, kept as numbers: the
  // text is only made for a report (every event and entry fetch notes one).
  struct Where {
    sim::PointKind kind = sim::PointKind::Store;
    uint32_t index = 0;  // 0: between ops
    std::string str() const;
  };
  // Deferred observations of the outer op.
  struct Fetched {
    EntryLoc at;
    sim::Entry observed;
    Where point;
    sim::Sid sid;
    uint32_t pasid;
  };
  // A DMA that faulted on an IOVA both domains of an in-flight transition
  // mapped alike when it ran (a nested op may map or unmap it later): P3
  // if the writer declared that replace hitless.
  struct DmaSeen {
    Move t;
    sim::Iova iova;
    Where point;
  };

  // The properties.
  void check_dma(const sim::HwEvent& e);
  void check_fill(const sim::HwEvent& e);
  void check_deferred(const InFlight& f);
  void check_caches(bool outer_end);
  bool entry_lines_clean();  // check_caches' context- and PASID-cache part
  // What the last clean entry_lines_clean compared: each line it checked
  // (sid, context or PASID line and its PASID, the entry), the root table
  // and the pages it read. The same lines over the same pages agree again.
  struct CheckedLine {
    uint16_t sid;
    bool context;
    uint32_t pasid;
    sim::Entry entry;
    bool operator==(const CheckedLine&) const = default;
  };
  struct Lines {
    uint64_t rtaddr = 0;
    std::vector<CheckedLine> lines;
    bool operator==(const Lines&) const = default;
  };
  LastClean<Lines> entry_lines_;
  Lines lines_now_;
  bool hitless_at(const EntryLoc& at, sim::Entry* old, sim::Entry* now) const;
  sim::Entry effective_entry(sim::Sid sid, uint32_t pasid_eff, bool* present) const;
  // A (device, PASID) pair whose effective entry makes it use an IOTLB tag.
  struct Consumer {
    sim::Sid sid;
    uint32_t key;  // 0: requests without PASID, else the PASID
    uint16_t did;  // the tag: DID, and PASID for first-stage and nested
    uint32_t tag;
    sim::PhysAddr root;  // the table its entry names: FSPTPTR or SSPTPTR
    uint8_t pgtt;
    bool uses(uint16_t d, uint32_t t) const { return did == d && tag == t; }
  };
  // Every live one, each pair once (in a buffer the next call reuses).
  const std::vector<Consumer>& consumers() const;

  // Live update (lu_checks.cc).
  struct Reserved {      // a DID the new kernel may not give yet, and what it names
    bool known = false;  // false: only cache lines left at the kexec carry it
    uint8_t pgtt = 0;
    sim::PhysAddr root = 0;
  };
  struct Named {
    sim::Sid sid;
    uint32_t key;
    sim::Entry entry;
  };
  static Reserved source_of(const sim::Entry& e);
  void check_lu(const InFlight& f, bool outer, drv::Status st);
  void check_continuity(const Where& point);  // index 0: at the op's end
  // P9's walks and what they must give, and what the last clean check's
  // verdict rested on: those walks, the root table, TE and the pages the
  // walks read. While none of that changes the verdict is the same (the
  // check runs at every store point: it was a tenth of the fuzz loop).
  struct ContinuityView {
    struct Walk {
      uint16_t sid;
      drv::DomainId dom;
      sim::Iova iova;
      sim::PhysAddr pa;
      bool writable;
      bool operator==(const Walk&) const = default;
    };
    sim::PhysAddr rtaddr = 0;
    bool translating = false;
    std::vector<Walk> walks;
    bool operator==(const ContinuityView&) const = default;
  };
  void continuity_view(ContinuityView* v);
  LastClean<ContinuityView> continuity_;
  ContinuityView continuity_now_;
  bool lu_dma(const sim::HwEvent& e, const std::vector<std::string>& details);
  void lu_event(const sim::HwEvent& e);
  void check_dids(const std::string& point);
  void release_dids();
  // Filled into a kept buffer (valid until the next call): check_dids runs
  // it at the end of every op while a DID is reserved (issue 16).
  const std::vector<Named>& named_entries() const;
  // Spec 6.2.1: entries with the same DID must reference the same
  // translation structures. Who owns an IOTLB tag (DID, and PASID for
  // first-stage), learned from the entries of every attachment when an
  // outer op returns, valid while that domain still tags the DID.
  struct Owner {
    drv::DomainId dom = 0;
    sim::PhysAddr root = 0;
    uint8_t pgtt = 0;
    sim::Sid sid;
    uint32_t key = 0;
  };
  void learn_owners();
  // What the last learn_owners read: every attachment (sid, key, domain),
  // the root table and the entries' pages. The same gives the same owners.
  struct Attachments {
    uint64_t rtaddr = 0;
    std::vector<std::tuple<uint16_t, uint32_t, drv::DomainId>> atts;  // sid, key, domain
    bool operator==(const Attachments&) const = default;
  };
  LastClean<Attachments> owners_learned_;
  Attachments atts_now_;
  bool tags_did(drv::DomainId dom, uint16_t did) const;
  // DIDs tagged on both domains of a move in flight, per (sid, key).
  std::vector<uint16_t> temporaries(sim::Sid sid, uint32_t key) const;

  // Records a finding. Inside an op it stays pending until the outer op
  // returns, and the root cause is reported first (the property's rank).
  void fail(Property p, const std::string& what, std::vector<std::string> details,
            const std::string& entry_kind, const std::string& point);
  void settle();
  void settle_nested(const InFlight& f);
  Where where() const;
  std::string here() const { return where().str(); }

  // What the oracle reads: memory, and the unit's registers and caches.
  struct View {
    const sim::PhysMemory& mem;
    const sim::Iommu& iommu;
    const sim::Config& config() const { return iommu.config(); }
  };
  const View m_;
  const drv::Writer& writer_;
  std::string writer_name_;
  drv::Caps caps_;
  Model model_;
  sim::PhysAddr memory_limit_ = ~sim::PhysAddr(0);
  sim::SlotStack<InFlight> stack_;  // pushed and popped once per op
  Where point_;
  std::vector<Fetched> fetched_;
  std::vector<DmaSeen> dmas_;
  // P5: per IOTLB tag (DID, PASID tag): source (root, PGTT) -> requesters,
  // as one sorted flat set (in the order three nested maps had).
  using TagKey = std::pair<uint16_t, uint32_t>;
  using Source = std::pair<sim::PhysAddr, uint8_t>;
  using Requester = std::pair<uint16_t, uint32_t>;
  sim::FlatMap<std::tuple<TagKey, Source, Requester>, bool> fills_;
  std::map<uint16_t, Reserved> reserved_;  // P11, by DID
  // P10: the pages each preserved device reached at the kexec, with their
  // allocation generation then.
  std::map<uint16_t, std::vector<std::pair<sim::PhysAddr, uint32_t>>> reach_;
  std::set<uint16_t> isolated_;  // P12: the old kernel's unpreserved devices
  // Cache tags (driver tracepoints): (domain, DID) -> tags naming it, and
  // the DIDs tagged per (domain, sid, key).
  // Flat: a map node per tag was a tenth of the oracle's allocations.
  sim::FlatMap<std::pair<drv::DomainId, uint16_t>, int> dom_dids_;
  // (domain, sid, key, DID) -> tags.
  sim::FlatMap<std::tuple<drv::DomainId, uint16_t, uint32_t, uint16_t>, int> tagged_;
  std::map<std::pair<uint16_t, uint32_t>, std::vector<uint16_t>> temps_;  // this outer op's
  // Rebuilt at every op's end: a flat list (one per attached device and
  // PASID, a handful) keeps its capacity, where a map allocated per entry.
  std::vector<std::pair<TagKey, Owner>> owners_;
  const Owner* owner(const TagKey& tag) const;
  EventRing<sim::HwEvent, sim::Entry, &sim::HwEvent::entry, sim::Translation, &sim::HwEvent::xlat,
            Where>
      ring_;
  // Scratch buffers, reused so that per-event checks do not allocate.
  mutable std::vector<std::pair<uint16_t, uint32_t>> pairs_;
  mutable std::vector<Consumer> consumers_;
  mutable std::vector<Named> named_;    // named_entries()
  mutable std::vector<uint16_t> sids_;  // named_entries(): the sids to read, sorted
  std::vector<uint16_t> named_dids_;    // release_dids(): DIDs still named, sorted
  std::vector<sim::Entry> held_;
  std::vector<Outcome> outcomes_;
  std::vector<sim::PhysAddr> lines_;
  bool violated_ = false;
  Violation v_;
  std::vector<Violation> pending_;
};

}  // namespace vtd::oracle

// The oracle (DESIGN.md section 6): an abstract model of the iommu-core API
// and the properties P1-P8, judged from API calls and hardware events only
// (plus reference reads of hardware-visible memory, reference.h). It never
// looks inside a writer; it holds the writer to its hitless() promise.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "driver/driver.h"
#include "driver/writer.h"
#include "oracle/properties.h"
#include "oracle/reference.h"
#include "simulator/events.h"
#include "simulator/machine.h"
#include "simulator/translation.h"

namespace vtd::oracle {

enum class Call : uint8_t {
  Domain,
  Free,
  Map,
  Unmap,
  Probe,
  Release,
  Vfs,
  SurpriseRemove,
  Attach,
  Replace,
  Detach,
  SetPasid,
  RemovePasid,
  Hardware,  // a top-level hardware step (dma, walk, ...)
};

// One op as the oracle sees it: the API call and its arguments.
struct ApiCall {
  Call call = Call::Hardware;
  std::string name;  // "replace", "dma", ...
  std::string text;  // the op's text form
  drv::DomainId dom = 0, parent = 0;
  drv::DomainType dtype = drv::DomainType::SecondStage;
  sim::Sid sid;
  uint32_t pasid = sim::kNoPasid;
  sim::Iova iova = 0;
  sim::PhysAddr pa = 0;
  uint64_t size = 0;
  uint8_t perm = 0, n = 0;
  bool ats = false, pasid_cap = false;
};

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
};

class Oracle final : public sim::Observer {
 public:
  Oracle(const sim::Machine& m, const drv::Writer& writer, std::string writer_name);

  // Every op is bracketed: the outer op on cpu 0, a nested op on cpu 1.
  void begin(uint32_t op_index, const ApiCall& c, int cpu);
  void end(drv::Status st);
  // The outer op reached a schedule point (reports name it).
  void point(sim::PointKind k, uint32_t index);

  void on_event(const sim::HwEvent& e) override;

  bool violated() const { return violated_; }
  const Violation& violation() const { return v_; }

  // The abstract model, read-only (the fuzz target's state features). During
  // an op it still shows the state from before the op.
  drv::DomainId domain_of(sim::Sid sid) const;  // RID_PASID attachment; 0: none
  size_t devices_on(drv::DomainId id) const;    // devices attached to it (RID_PASID)
  int domain_type(drv::DomainId id) const;      // DomainType; -1: no such domain
  size_t mappings_of(drv::DomainId id) const;

 private:
  struct Mapping {
    sim::PhysAddr pa;
    uint64_t size;
    uint8_t perm;
  };
  struct Dom {
    drv::DomainType type = drv::DomainType::SecondStage;
    drv::DomainId parent = 0;
    std::map<sim::Iova, Mapping> maps;  // by IOVA base
  };
  struct Dev {
    bool ats = false, pasid_cap = false, gone = false, vf = false;
    std::map<uint32_t, drv::DomainId> att;  // 0: requests without PASID (RID_PASID)
    std::vector<sim::Sid> vfs;
  };
  struct Trans {
    sim::Sid sid;
    uint32_t key;
    drv::DomainId from, to;
    bool operator==(const Trans&) const = default;
  };
  struct InFlight {
    ApiCall call;
    uint32_t op_index = 0;
    int cpu = 0;
    std::vector<Trans> trans;
    // Entry values when a nested op (second CPU) returned: legal states for
    // fetches later in this op, like the values at its start and end.
    std::map<sim::PhysAddr, std::vector<sim::Entry>> settled;
  };
  struct Outcome {
    bool fault;
    sim::PhysAddr pa;
    bool writable;
  };
  // Deferred observations of the outer op.
  struct Fetched {
    EntryLoc at;
    sim::Entry observed;
    std::string point;
    sim::Sid sid;
    uint32_t pasid;
  };
  // A DMA that faulted on an IOVA both domains of an in-flight transition
  // mapped alike when it ran (a nested op may map or unmap it later): P3
  // if the writer declared that replace hitless.
  struct DmaSeen {
    Trans t;
    sim::Iova iova;
    std::string point;
  };
  struct Ring {
    sim::HwEvent e;
    sim::Entry entry;
    sim::Translation xlat;
    bool has_entry = false, has_xlat = false;
    std::string point;
  };

  // The abstract model.
  void apply(const InFlight& f);
  std::vector<Trans> transitions(const ApiCall& c) const;
  bool key_of(sim::Sid sid, uint32_t pasid, uint32_t* key) const;
  void domain_outcomes(drv::DomainId id, sim::Iova iova, std::vector<Outcome>* out,
                       int depth = 0) const;
  std::vector<Outcome> allowed(sim::Sid sid, uint32_t pasid, sim::Iova iova) const;
  bool in_transition(sim::Sid sid, uint32_t key, const Trans** t = nullptr) const;
  bool device_op_in_flight(sim::Sid sid) const;
  // Both domains translate iova to the same page with the same rights, and
  // those rights allow the access.
  bool mapped_alike(drv::DomainId a, drv::DomainId b, sim::Iova iova, bool write) const;
  static bool matches(const std::vector<Outcome>& os, bool fault, sim::PhysAddr pa, bool write,
                      bool writable);

  // The properties.
  void check_dma(const sim::HwEvent& e);
  void check_fill(const sim::HwEvent& e);
  void check_deferred(const InFlight& f);
  void check_caches(bool outer_end);
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
  std::vector<Consumer> consumers() const;  // every live one, each pair once

  // Records a finding. Inside an op it stays pending until the outer op
  // returns, and the root cause is reported first (see kPriority).
  void fail(Property p, const std::string& what, std::vector<std::string> details,
            const std::string& entry_kind, const std::string& point);
  void settle();
  void settle_nested(const InFlight& f);
  std::string here() const;
  static std::string ring_text(const Ring& r);

  const sim::Machine& m_;
  const drv::Writer& writer_;
  std::string writer_name_;
  drv::Caps caps_;
  std::map<drv::DomainId, Dom> doms_;
  std::map<uint16_t, Dev> devs_;
  std::vector<InFlight> stack_;
  std::string point_;
  std::vector<Fetched> fetched_;
  std::vector<DmaSeen> dmas_;
  // P5: per IOTLB tag (DID, PASID tag): source (root, PGTT) -> requesters.
  using TagKey = std::pair<uint16_t, uint32_t>;
  using Source = std::pair<sim::PhysAddr, uint8_t>;
  using Requester = std::pair<uint16_t, uint32_t>;
  std::map<TagKey, std::map<Source, std::set<Requester>>> fills_;
  std::vector<Ring> ring_;
  size_t ring_next_ = 0;
  bool violated_ = false;
  Violation v_;
  std::vector<Violation> pending_;
  bool ending_ = false;  // the top of the stack has returned (its effects are applied)
};

}  // namespace vtd::oracle

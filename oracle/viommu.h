// P13, P15 and P16 (DESIGN.md section 13): the vIOMMU's VMM judged from
// the iommufd facade's calls, the virtual unit's events and the guest's own
// tables, never from the propagator's state. Like the queue target's
// reference (targets/queue.h) it is a second reading of the rules: it
// keeps its own virtual PASID cache, covering lines as spec 6.5.2 says
// (oracle/scope.h decides which lines a descriptor removes), and knows what
// each guest entry must be bound to on the host.
//
// A line is what the virtual hardware may hold for a (device, PASID): the
// guest entry when remapping came on, or when an invalidation last covered
// it (caching mode: not-present entries are cached too). At a completed
// wait (and when a remapping change or a reset has been handled) each
// (device, PASID) must be bound to what its line says, to what its entry
// says now, or to what it said whenever the VMM ran since (the hardware may
// refetch at any time): not present: blocked;
// pass-through: the nesting parent; first-stage: a nested HWPT with that
// FSPTPTR, address width and flags; any other PGTT: blocked with a fault
// reported. With remapping off or in legacy mode: the default HWPT for
// requests without PASID, PASIDs blocked. After a failed host call for a
// covered line the guest must have been told (a fault) or the device
// blocked (P16), whatever the line says.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "oracle/event_ring.h"
#include "oracle/oracle.h"
#include "simulator/memory.h"
#include "vmm/events.h"
#include "vmm/iommufd.h"
#include "vmm/vunit.h"

namespace vtd::oracle {

class ViommuJudge final : public vmm::VmmObserver {
 public:
  ViommuJudge(const sim::PhysMemory& mem, const vmm::VirtualUnit& unit, std::string propagator);

  // Every op is bracketed (reports name it); at its end every nested HWPT
  // must be attached once or destroyed.
  void begin(uint32_t op_index, const std::string& op_text, const char* op_kind);
  void end();

  void on_vmm_event(const vmm::VmmEvent& e) override;

  // A host call for (guest BDF, PASID) failed and the guest was told (a
  // fault report), and the guest entry is still what it held then: the
  // device is in error, which P16 judges, until the guest changes the entry.
  bool in_error(sim::Sid sid, uint32_t pasid) const;

  bool violated() const { return violated_; }
  const Violation& violation() const { return v_; }

  // The virtual PASID cache as the judge keeps it: (guest BDF, PASID) and
  // the entry its line holds (a guest's oracle reads it as the PASID cache
  // of the unit it runs on). Valid until the next call (one buffer, kept:
  // the view is refreshed after every guest op).
  const std::vector<std::pair<std::pair<uint16_t, uint32_t>, sim::Entry>>& lines() const;

 private:
  using Key = std::pair<uint16_t, uint32_t>;  // (guest BDF, PASID)
  struct Line {
    sim::Entry e{sim::EntryKind::PasidEntry};  // not present until something is cached
    uint64_t set = 0;                          // when it took this value
    uint64_t failed = 0;                       // a host call for it failed then (0: none)
    std::vector<sim::Entry> seen;              // other entries the VMM could have read since `set`
    bool may_hold(const sim::Entry& x) const {
      return x == e || std::find(seen.begin(), seen.end(), x) != seen.end();
    }
    void read(const sim::Entry& x) {  // the VMM could have read x
      if (!may_hold(x)) seen.push_back(x);
    }
  };
  struct Object {
    vmm::ObjKind kind = vmm::ObjKind::Device;
    uint32_t parent = 0;
    drv::S1Config s1;
  };
  // What a (device, PASID) may be bound to.
  struct Want {
    enum Kind : uint8_t { Blocked, Parent, Nested, Refused } kind = Blocked;
    drv::S1Config s1;
  };

  void call_end(const vmm::FacadeCall& c);
  void cover(const sim::Descriptor& d);
  void snapshot();
  void note_seen();
  void check_bindings();
  void check_objects();
  sim::Entry guest_entry(sim::Sid sid, uint32_t pasid) const;
  // The guest PASIDs present under `sid`, from the cache of walks (scans_):
  // the reference is valid until the next call, whose walk of another
  // device may grow the cache; copy it before calling again.
  const std::vector<uint32_t>& guest_pasids(sim::Sid sid) const;
  void walk_pasids(sim::Sid sid, uint64_t rtaddr, std::vector<uint32_t>* out,
                   std::vector<sim::PhysAddr>* pages) const;
  std::vector<uint32_t> pasids_of(const vmm::AssignedDevice& d) const;
  static Want want_of(const sim::Entry& e);
  bool matches(const Want& w, const vmm::AssignedDevice& d, uint32_t hwpt) const;
  std::string bound_text(uint32_t hwpt) const;
  static std::string want_text(const Want& w);
  const vmm::AssignedDevice* device_by_id(uint32_t dev_id) const;
  void fail(Property p, const std::string& what, std::vector<std::string> details,
            const std::string& kind);

  const sim::PhysMemory& mem_;
  const vmm::VirtualUnit& unit_;
  std::string propagator_;
  std::vector<vmm::AssignedDevice> devs_;
  std::map<uint32_t, Object> objs_;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> att_;  // (device, PASID) -> HWPT
  std::map<Key, Line> lines_;
  std::map<Key, uint64_t> faults_;     // when a fault was last reported
  std::map<Key, sim::Entry> faulted_;  // and what the guest entry held then
  std::vector<Key> covered_;           // by the descriptor being handled
  // The last failed nested allocation (it names no PASID): when, and the
  // PASIDs it was counted against with their failure times before it.
  struct Ambiguous {
    uint64_t clock = 0;
    std::vector<std::pair<Key, uint64_t>> prev;
  } ambiguous_;
  bool in_descriptor_ = false, check_after_ = false;
  uint64_t clock_ = 0;
  uint32_t op_index_ = 0;
  std::string op_text_, op_kind_, point_;
  EventRing<vmm::VmmEvent, vmm::FacadeCall, &vmm::VmmEvent::call, vmm::AssignedDevice,
            &vmm::VmmEvent::device, std::string>
      ring_;  // the last VMM events, with the point each came at
  // guest_pasids' walks (the whole PASID directory, for every device after
  // every descriptor), each kept while the pages it read are unchanged.
  struct Scan {
    uint16_t sid = 0;
    uint64_t rtaddr = 0;
    ReadSet reads;
    std::vector<uint32_t> pasids;
  };
  mutable std::vector<Scan> scans_;
  mutable std::vector<std::pair<Key, sim::Entry>> lines_out_;  // lines()' buffer
  bool violated_ = false;
  Violation v_;
};

}  // namespace vtd::oracle

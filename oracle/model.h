// The abstract iommu-core model (DESIGN.md section 6): devices, domains and
// their mappings, the calls in flight (a map or unmap not yet returned may
// or may not be visible; a (device, PASID) being moved may translate through
// either domain), and what a DMA may give. One model, three judges: the ops
// oracle (oracle.h), the transition checker (transitions/) and the race
// harness (race/) all take the API's semantics from here.
//
// The API calls are the program format's op table (prog/ops.h): an ApiCall
// is one op with its arguments, named by its OpKind.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "driver/driver.h"
#include "prog/ops.h"
#include "simulator/flat_map.h"
#include "simulator/formats.h"
#include "simulator/slot_stack.h"
#include "simulator/types.h"

namespace vtd::prog {
struct Op;
}

namespace vtd::oracle {

// One call as the model sees it: the op and its arguments.
struct ApiCall {
  prog::OpKind kind = prog::OpKind::Dma;
  std::string text;  // the op's text form (reports name it)
  // Or the op itself, whose text is made only when a report needs it (the
  // harness: no string per op); must outlive the call.
  const prog::Op* op = nullptr;
  drv::DomainId dom = 0, parent = 0;
  drv::DomainType dtype = drv::DomainType::SecondStage;
  sim::Sid sid;
  uint32_t pasid = sim::kNoPasid;
  sim::Iova iova = 0;
  sim::PhysAddr pa = 0;
  uint64_t size = 0;
  uint8_t perm = 0, n = 0;
  bool ats = false, pasid_cap = false;
  const char* name() const { return prog::op_name(kind); }
  bool api() const { return prog::is_api(kind); }
};

struct Mapping {
  sim::PhysAddr pa = 0;
  uint64_t size = 0;
  uint8_t perm = 0;  // drv::kRead | drv::kWrite
};

struct Domain {
  drv::DomainType type = drv::DomainType::SecondStage;
  drv::DomainId parent = 0;
  sim::FlatMap<sim::Iova, Mapping> maps;  // by IOVA base
};

struct Device {
  bool ats = false, pasid_cap = false, gone = false, vf = false;
  sim::FlatMap<uint32_t, drv::DomainId> att;  // key 0: requests without PASID (RID_PASID)
  std::vector<sim::Sid> vfs;
};

// A (device, PASID) attachment a call changes: from one domain to another
// (0: none, blocked).
struct Move {
  sim::Sid sid;
  uint32_t key = 0;  // 0: requests without PASID, else the PASID
  drv::DomainId from = 0, to = 0;
  bool operator==(const Move&) const = default;
};

// Live update (DESIGN.md section 12): the phase the platform is in. Old:
// the first kernel runs (before the kexec); Dark: no kernel, between the
// kexec and the restore; New: the kernel the restore brought up.
enum class LuPhase : uint8_t { Old, Dark, New };

// A device preserved for the next kernel: its domain and what it is.
struct Preserved {
  drv::DomainId dom = 0;
  bool ats = false, pasid_cap = false;
};

// What a DMA may give: a fault, or an address with a permission.
struct Outcome {
  bool fault = true;
  sim::PhysAddr pa = 0;
  bool writable = false;
};

class Model {
 public:
  explicit Model(bool scalable = true) : scalable_(scalable) {}

  // ------------------------------------------------------------ calls --
  struct Flight {
    ApiCall call;
    std::vector<Move> moves;
  };
  // A call starts (calls nest: a second CPU's op runs inside the first's).
  // Its moves are computed from the state when it starts; a surprise
  // removal makes the device gone at once (that is the hardware).
  void begin(const ApiCall& c);
  // The innermost call returns; its effects are applied when it succeeded.
  void end(bool ok);
  const sim::SlotStack<Flight>& in_flight() const { return flights_; }
  // The attachments a call would change, in the current state, into `out`.
  void moves(const ApiCall& c, std::vector<Move>* out) const;

  // ------------------------------------------------------------ state --
  // Flat maps (simulator/flat_map.h): a node per domain, device, mapping
  // and attachment was a tenth of the fuzz loop's allocations (issue 16).
  const sim::FlatMap<drv::DomainId, Domain>& domains() const { return doms_; }
  const sim::FlatMap<uint16_t, Device>& devices() const { return devs_; }
  const Device* device(sim::Sid sid) const;
  bool scalable() const { return scalable_; }
  // Which attachment a request uses: false when it faults whatever is
  // attached (no such device, or a PASID the device cannot send).
  bool key_of(sim::Sid sid, uint32_t pasid, uint32_t* key) const;
  drv::DomainId attached(sim::Sid sid, uint32_t key) const;  // 0: none
  // A call in flight changes this (device, PASID) (it may hold either
  // domain), or any of the device's entries (its first attachment makes the
  // context entry present, a release tears it down).
  const Move* moving(sim::Sid sid, uint32_t key) const;
  bool device_call_in_flight(sim::Sid sid) const;

  // ---------------------------------------------------------- outcomes --
  // Everything a translation of `iova` through domain `id` may give now:
  // maps and unmaps in flight may or may not be visible yet.
  void outcomes(drv::DomainId id, sim::Iova iova, std::vector<Outcome>* out) const;
  // Everything a request of (sid, pasid) may give now: its domain, and both
  // domains of a move in flight (or a fault, which P3 judges).
  std::vector<Outcome> allowed(sim::Sid sid, uint32_t pasid, sim::Iova iova) const;
  // The same into `out` (cleared first): a caller's buffer, reused.
  void allowed(sim::Sid sid, uint32_t pasid, sim::Iova iova, std::vector<Outcome>* out) const;
  // Both domains translate iova to the same page with the same rights, and
  // those rights allow the access.
  bool mapped_alike(drv::DomainId a, drv::DomainId b, sim::Iova iova, bool write) const;
  static bool matches(const std::vector<Outcome>& os, bool fault, sim::PhysAddr pa, bool write,
                      bool writable);

  // ------------------------------------------------------ live update --
  // The abstract state survives the kexec (model_lu.cc): at the kexec the
  // unpreserved attachments become blocked, the unpreserved domains go and
  // the new kernel has probed nothing; the preserved domains stay, frozen.
  // A preserved device probed by the new kernel is attached to its domain.
  LuPhase lu_phase() const { return lu_.phase; }
  const std::set<drv::DomainId>& preserved_domains() const { return lu_.doms; }
  const std::map<uint16_t, Preserved>& preserved_devices() const { return lu_.devs; }
  // P9's window: the devices whose requests without PASID must translate
  // through their preserved domain (from preserve until a call of the new
  // kernel that moves them returns), and that domain.
  const std::map<uint16_t, drv::DomainId>& continuity() const { return lu_.window; }
  drv::DomainId continuity(sim::Sid sid) const;

  // The model's picture for engine features: the RID_PASID attachment,
  // devices attached to a domain, a domain's type (-1: none), its mappings.
  drv::DomainId domain_of(sim::Sid sid) const { return attached(sid, 0); }
  size_t devices_on(drv::DomainId id) const;
  int domain_type(drv::DomainId id) const;
  size_t mappings_of(drv::DomainId id) const;

 private:
  void apply(const Flight& f);
  void apply_lu(const Flight& f);
  std::vector<Move> kexec_moves() const;
  void domain_outcomes(drv::DomainId id, sim::Iova iova, std::vector<Outcome>* out,
                       int depth) const;

  bool scalable_;
  sim::FlatMap<drv::DomainId, Domain> doms_;
  sim::FlatMap<uint16_t, Device> devs_;
  sim::SlotStack<Flight> flights_;  // pushed and popped once per op
  struct {
    LuPhase phase = LuPhase::Old;
    std::set<drv::DomainId> doms;
    std::map<uint16_t, Preserved> devs;
    std::map<uint16_t, drv::DomainId> window;
  } lu_;
};

// ------------------------------------------------------------- entries --

// The configuration P1 compares: an entry's used bits, DID masked (DIDs
// are P5's).
sim::Entry shape(const sim::Entry& e);

// P1's rule, for every judge: a present entry the hardware assembled must
// have the configuration of one of the values the entry legally held while
// it was read (its old and new value, and any a nested op left) in every
// field the hardware uses. DIDs are masked here (the configuration's
// shape); legal_entry() below judges them too.
bool legal_configuration(const sim::Entry& seen, std::span<const sim::Entry> held);

// P1 with the DID (spec 6.2.1: the DID is a used field, it tags every
// fill): the entry must be one of the held values, field for field,
// except that its DID may be a temporary DID the writer tagged on both
// sides of the transition (seeds/001: "allocating a temporary ID, moving
// the current entry to the temporary ID, moving to the new pointer, moving
// to the final ID").
bool legal_entry(const sim::Entry& seen, std::span<const sim::Entry> held,
                 std::span<const uint16_t> temporary_dids);

}  // namespace vtd::oracle

#include "oracle/viommu.h"

#include <algorithm>
#include <span>

#include "oracle/reference.h"
#include "oracle/scope.h"
#include "simulator/registers.h"

namespace vtd::oracle {

using sim::Entry;
using sim::EntryKind;
using sim::Field;
using sim::Sid;
using vmm::AssignedDevice;
using vmm::Call;
using vmm::VmmEvent;
using vmm::VmmEventKind;

ViommuJudge::ViommuJudge(const sim::PhysMemory& mem, const vmm::VirtualUnit& unit,
                         std::string propagator)
    : mem_(mem), unit_(unit), propagator_(std::move(propagator)) {}

void ViommuJudge::begin(uint32_t op_index, const std::string& op_text, const char* op_kind) {
  op_index_ = op_index;
  op_text_ = op_text;
  op_kind_ = op_kind;
  point_.clear();
}

void ViommuJudge::end() {
  point_ = "end";
  if (!violated_) check_objects();
}

// ------------------------------------------------------------- events --

void ViommuJudge::on_vmm_event(const VmmEvent& e) {
  ring_.add(e, point_);
  if (violated_) return;
  ++clock_;
  switch (e.kind) {
    case VmmEventKind::Assign:
      devs_.push_back(*e.device);
      break;
    case VmmEventKind::CallEnd:
      call_end(*e.call);
      break;
    case VmmEventKind::Descriptor:
      point_ = "descriptor " + std::to_string(e.seq);
      in_descriptor_ = true;
      covered_.clear();
      note_seen();
      cover(e.desc);
      break;
    case VmmEventKind::Remapping:
      point_ = std::string("remapping ") + vmm::remap_name(e.remap);
      check_after_ = true;
      // The VMM acts on every binding again: earlier failures are history.
      for (auto& [k, l] : lines_) l.failed = 0;
      if (e.remap == vmm::Remap::On) snapshot();
      break;
    case VmmEventKind::Reset:
      point_ = "reset";
      check_after_ = true;
      lines_.clear();
      break;
    case VmmEventKind::Handled:
      in_descriptor_ = false;
      covered_.clear();
      if (check_after_) {
        check_after_ = false;
        check_bindings();
        if (!violated_) check_objects();
      }
      break;
    case VmmEventKind::WaitDone:
      point_ = "wait " + std::to_string(e.seq);
      check_bindings();
      if (!violated_) check_objects();
      break;
    case VmmEventKind::GuestFault: {
      const Key k{e.sid.v, e.pasid};
      faults_[k] = clock_;
      faulted_[k] = guest_entry(e.sid, e.pasid);
      // A failed allocation asked by several PASIDs alike was one PASID's:
      // the one the guest is told of next (soak: two PASIDs of one table).
      auto& prev = ambiguous_.prev;
      if (std::any_of(prev.begin(), prev.end(), [&](const auto& x) { return x.first == k; }))
        for (const auto& [other, failed] : prev)
          if (other != k && lines_[other].failed == ambiguous_.clock) lines_[other].failed = failed;
      ambiguous_ = {};
      break;
    }
    default:
      break;
  }
}

const AssignedDevice* ViommuJudge::device_by_id(uint32_t dev_id) const {
  for (const AssignedDevice& d : devs_)
    if (d.dev_id == dev_id) return &d;
  return nullptr;
}

// P15 on every call as it returns, then the mirror of the host's objects.
void ViommuJudge::call_end(const vmm::FacadeCall& c) {
  uint32_t named[2] = {}, n = 0;
  switch (c.call) {
    case Call::AllocPaging:
    case Call::Detach:
      named[n++] = c.dev_id;
      break;
    case Call::AllocNested:
    case Call::Attach:
      named[n++] = c.dev_id;
      named[n++] = c.id;
      break;
    case Call::Map:
    case Call::Destroy:
    case Call::Invalidate:
      named[n++] = c.id;
      break;
    case Call::BindDevice:
      break;
  }
  // Described only for a finding.
  auto call = [&] { return "iommufd " + c.str(true); };
  for (uint32_t id : std::span(named, n)) {
    if (id == 0)
      return fail(Property::P15, "a call names ID 0, which never names an object", {call()}, "id0");
    if (!objs_.count(id))
      return fail(Property::P15,
                  "a call names ID " + std::to_string(id) +
                      ", which no live object has (destroyed, or never allocated)",
                  {call()}, "freed-id");
  }
  if (c.call == Call::Destroy) {
    const Object& o = objs_.at(c.id);
    if (o.kind == vmm::ObjKind::Device)
      return fail(Property::P15, "the VMM's device object is destroyed", {call()}, "device");
    // A parent no device was given as its default (the VMM freed it when
    // the map of guest RAM failed, R30) is the VMM's to free.
    auto is_default = [&](const AssignedDevice& d) { return d.default_hwpt == c.id; };
    if (o.kind == vmm::ObjKind::HwptPaging && std::any_of(devs_.begin(), devs_.end(), is_default))
      return fail(Property::P15,
                  "the nesting parent (the default HWPT) " + std::to_string(c.id) + " is destroyed",
                  {call()}, "parent");
    for (const auto& [k, hwpt] : att_)
      if (hwpt == c.id)
        return fail(Property::P15,
                    "HWPT " + std::to_string(c.id) + " is destroyed while device " +
                        std::to_string(k.first) + " pasid " + std::to_string(k.second) +
                        " is attached to it",
                    {call()}, "attached");
  }
  if (!drv::ok(c.status)) {
    // A host refusal for a (device, PASID) the guest invalidated: P16 asks
    // that the guest hears of it.
    const AssignedDevice* d = device_by_id(c.dev_id);
    if (!d || (c.call != Call::AllocNested && c.call != Call::Attach && c.call != Call::Detach))
      return;
    // An allocation names no PASID: it was for those whose entries ask for
    // a nested HWPT of the configuration it asked for (soak found another
    // PASID's failed allocation counted against one already told).
    const bool alloc = c.call == Call::AllocNested;
    auto asks = [&](const Entry& e) {
      const Want w = want_of(e);
      return w.kind == Want::Nested && w.s1 == c.s1;
    };
    if (alloc) ambiguous_ = {clock_, {}};
    auto mark = [&](const Key& k) {
      if (k.first != d->guest.v) return;
      Line& l = lines_[k];
      if (!(alloc ? asks(l.e) || asks(guest_entry(d->guest, k.second)) : k.second == c.pasid))
        return;
      if (alloc) ambiguous_.prev.push_back({k, l.failed});
      l.failed = clock_;
    };
    if (in_descriptor_) {
      for (const Key& k : covered_) mark(k);
    } else {
      for (uint32_t p : pasids_of(*d)) mark({d->guest.v, p});
    }
    return;
  }
  switch (c.call) {
    case Call::BindDevice:
      objs_[c.out_id] = {vmm::ObjKind::Device, 0, {}};
      break;
    case Call::AllocPaging:
      objs_[c.out_id] = {vmm::ObjKind::HwptPaging, 0, {}};
      break;
    case Call::AllocNested:
      objs_[c.out_id] = {vmm::ObjKind::HwptNested, c.id, c.s1};
      break;
    case Call::Attach:
      att_[{c.dev_id, c.pasid}] = c.id;
      break;
    case Call::Detach:
      att_.erase({c.dev_id, c.pasid});
      break;
    case Call::Destroy:
      objs_.erase(c.id);
      break;
    default:
      break;
  }
}

// --------------------------------------------------------- the lines --

bool ViommuJudge::in_error(sim::Sid sid, uint32_t pasid) const {
  auto f = faulted_.find({sid.v, pasid});
  return f != faulted_.end() && f->second == guest_entry(sid, pasid);
}

const std::vector<std::pair<std::pair<uint16_t, uint32_t>, Entry>>& ViommuJudge::lines() const {
  lines_out_.clear();
  for (const auto& [k, l] : lines_) lines_out_.push_back({k, l.e});
  return lines_out_;
}

Entry ViommuJudge::guest_entry(Sid sid, uint32_t pasid) const {
  const Located loc = locate(mem_, unit_.rtaddr(), sid, pasid);
  if (!loc.pasid.pa) return Entry(EntryKind::PasidEntry);  // nothing reaches it: not present
  return read_now(mem_, loc.pasid);
}

// The judge's own walk of a guest PASID directory: present entries.
const std::vector<uint32_t>& ViommuJudge::guest_pasids(Sid sid) const {
  const uint64_t rtaddr = unit_.rtaddr();
  Scan* scan = nullptr;
  for (Scan& s : scans_)
    if (s.sid == sid.v && s.rtaddr == rtaddr) scan = &s;
  if (scan && scan->reads.unchanged(mem_)) return scan->pasids;
  if (!scan) scan = &scans_.emplace_back(Scan{sid.v, rtaddr, {}, {}});
  std::vector<uint32_t>& out = scan->pasids;
  out.clear();
  scan->reads.start(mem_);
  std::vector<sim::PhysAddr>* pages = scan->reads.pages();
  walk_pasids(sid, rtaddr, &out, pages);
  scan->reads.done();
  return out;
}

void ViommuJudge::walk_pasids(Sid sid, uint64_t rtaddr, std::vector<uint32_t>* out,
                              std::vector<sim::PhysAddr>* pages) const {
  const Located loc = locate(mem_, rtaddr, sid, 0, pages);
  if (!loc.context.pa || loc.context.kind != EntryKind::ScalableContext) return;
  const Entry c = read_now(mem_, loc.context);
  if (!c.present() || sim::decode(c) != sim::FaultReason::None) return;
  // Up to 2^14 directory entries (PDTS 7), most of them zero or poison
  // (unbacked): an entry equal to the one before has its verdict.
  uint64_t last = 0, table = 0;
  bool usable = false;  // `last` is a present, well-formed entry naming `table`
  const uint32_t n = 1u << (c.get(Field::PDTS) + 7);
  const sim::PhysAddr dirptr = c.get(Field::PASIDDIRPTR);
  for (uint32_t dir = 0; dir < n; ++dir) {
    const sim::PhysAddr at = dirptr + 8ull * dir;
    if (dir == 0 || sim::page_of(at) != sim::page_of(at - 8)) pages->push_back(sim::page_of(at));
    const uint64_t w = mem_.hw_load(at);
    if (dir == 0 || w != last) {
      const Entry de = sim::entry_from_words(EntryKind::PasidDir, {&w, 1});
      last = w;
      usable = de.present() && sim::decode(de) == sim::FaultReason::None;
      table = usable ? de.get(Field::SMPTBLPTR) : 0;
    }
    if (!usable) continue;
    pages->push_back(sim::page_of(table));
    for (uint32_t i = 0; i < 64; ++i)
      if (mem_.hw_load(table + 64ull * i) & 1) out->push_back(dir << 6 | i);
  }
}

std::vector<uint32_t> ViommuJudge::pasids_of(const AssignedDevice& d) const {
  const std::vector<uint32_t>& walked = guest_pasids(d.guest);
  std::vector<uint32_t> out;
  out.reserve(1 + walked.size() + 8);  // one allocation, mostly (it was a third of this call)
  out.push_back(0);
  out.insert(out.end(), walked.begin(), walked.end());
  // Both maps are keyed by the device first: only its own entries.
  for (auto l = lines_.lower_bound({d.guest.v, 0});
       l != lines_.end() && l->first.first == d.guest.v; ++l)
    out.push_back(l->first.second);
  for (auto a = att_.lower_bound({d.dev_id, 0}); a != att_.end() && a->first.first == d.dev_id; ++a)
    out.push_back(a->first.second);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Which lines the descriptor reaches (oracle/scope.h, the spec's table);
// each one it reaches now holds the guest entry as it is. A context-cache
// invalidation of a device reaches its PASID lines too: the guest may have
// made its context entry present after invalidating their PASID cache
// (DESIGN.md section 13), and the entries are read through it. A line
// that takes a new entry forgets an earlier host failure and fault: the
// VMM must act on the new one.
void ViommuJudge::cover(const sim::Descriptor& d) {
  // With remapping off (or legacy) the lines do not count (the default
  // HWPT does) and the next remapping change takes a fresh snapshot.
  if (unit_.remap() != vmm::Remap::On) return;
  for (const AssignedDevice& dev : devs_) {
    const bool whole = d.type() == sim::kDescContext &&
                       removes(d, true, {sim::CacheKind::Context, dev.guest.v, sim::kNoPasid, 0});
    if (d.type() != sim::kDescPasidCache && !whole) continue;
    for (uint32_t p : pasids_of(dev)) {
      const Key k{dev.guest.v, p};
      Line& l = lines_[k];
      auto reached = [&](const Entry& e) {
        const bool present = e.present();
        const CachedLine cl{sim::CacheKind::Pasid,
                            dev.guest.v,
                            p,
                            uint16_t(present ? e.get(Field::DID) : 0),
                            0,
                            0,
                            present};
        return whole || removes(d, true, cl);
      };
      // The VMM may hold the line or any entry it read since (seen): the
      // ones the descriptor reaches are gone, the others may stay cached.
      const size_t before = l.seen.size();
      std::erase_if(l.seen, reached);
      const bool line_reached = reached(l.e);
      if (!line_reached && l.seen.size() == before) continue;
      covered_.push_back(k);
      const Entry now = guest_entry(dev.guest, p);
      if (!line_reached) {  // a value it may have cached is gone: refetched now
        l.read(now);
        continue;
      }
      if (now == l.e) continue;  // the same entry: a fault reported for it still counts
      l.e = now;
      l.set = clock_;
      l.failed = 0;
      std::erase(l.seen, now);
    }
  }
}

// Remapping came on: nothing is cached yet; every entry counts as it is.
void ViommuJudge::snapshot() {
  for (const AssignedDevice& dev : devs_)
    for (uint32_t p : pasids_of(dev)) {
      Line& l = lines_[{dev.guest.v, p}];
      l.e = guest_entry(dev.guest, p);
      l.seen.clear();
      l.set = clock_;
      l.failed = 0;
    }
}

// The VMM is about to run (a descriptor): it may read any guest entry now
// and cache it, whether or not an invalidation reaches the line (a line not
// cached is fetched at any time, spec 6.1). Each entry it could have read
// since the line was last covered is one its binding may follow.
void ViommuJudge::note_seen() {
  if (unit_.remap() != vmm::Remap::On) return;
  for (const AssignedDevice& dev : devs_)
    for (uint32_t p : pasids_of(dev)) lines_[{dev.guest.v, p}].read(guest_entry(dev.guest, p));
}

ViommuJudge::Want ViommuJudge::want_of(const Entry& e) {
  Want w;
  if (!e.present()) return w;
  const uint64_t pgtt = e.get(Field::PGTT);
  if (pgtt == sim::kPgttPassThrough) {
    w.kind = Want::Parent;
  } else if (pgtt == sim::kPgttFirst && e.get(Field::FSPM) < 2) {
    w.kind = Want::Nested;
    w.s1.fsptptr = e.get(Field::FSPTPTR);
    w.s1.addr_width = e.get(Field::FSPM) ? 57 : 48;
    w.s1.flags = uint32_t(e.get(Field::SRE) ? drv::kS1Sre : 0) |
                 uint32_t(e.get(Field::EAFE) ? drv::kS1Eafe : 0) |
                 uint32_t(e.get(Field::WPE) ? drv::kS1Wpe : 0);
  } else {
    w.kind = Want::Refused;
  }
  return w;
}

bool ViommuJudge::matches(const Want& w, const AssignedDevice& d, uint32_t hwpt) const {
  switch (w.kind) {
    case Want::Blocked:
    case Want::Refused:
      return hwpt == 0;
    case Want::Parent:
      return hwpt == d.default_hwpt;
    case Want::Nested: {
      auto o = objs_.find(hwpt);
      return o != objs_.end() && o->second.kind == vmm::ObjKind::HwptNested &&
             o->second.parent == d.default_hwpt && o->second.s1 == w.s1;
    }
  }
  return false;
}

std::string ViommuJudge::want_text(const Want& w) {
  switch (w.kind) {
    case Want::Blocked:
      return "blocked";
    case Want::Parent:
      return "the nesting parent";
    case Want::Refused:
      return "blocked, with a fault (PGTT refused)";
    case Want::Nested:
      return "a nested HWPT with fsptptr=" + sim::hex(w.s1.fsptptr) +
             " aw=" + std::to_string(w.s1.addr_width) + " flags=" + std::to_string(w.s1.flags);
  }
  return "?";
}

std::string ViommuJudge::bound_text(uint32_t hwpt) const {
  if (!hwpt) return "blocked";
  auto o = objs_.find(hwpt);
  if (o == objs_.end()) return "HWPT " + std::to_string(hwpt) + " (gone)";
  if (o->second.kind != vmm::ObjKind::HwptNested)
    return "HWPT " + std::to_string(hwpt) + " (a paging HWPT)";
  const drv::S1Config& s = o->second.s1;
  return "nested HWPT " + std::to_string(hwpt) + " (fsptptr=" + sim::hex(s.fsptptr) +
         " aw=" + std::to_string(s.addr_width) + " flags=" + std::to_string(s.flags) + ")";
}

// P16, then P13, for every (device, PASID) of every assigned device.
void ViommuJudge::check_bindings() {
  const vmm::Remap remap = unit_.remap();
  const Line none;  // a PASID with no line yet
  for (const AssignedDevice& d : devs_) {
    for (uint32_t p : pasids_of(d)) {
      const Key k{d.guest.v, p};
      auto a = att_.find({d.dev_id, p});
      const uint32_t hwpt = a == att_.end() ? 0 : a->second;
      auto lit = lines_.find(k);
      const Line& line = lit == lines_.end() ? none : lit->second;
      auto f = faults_.find(k);
      const uint64_t told = f == faults_.end() ? 0 : f->second;
      // The texts are made only for a finding (this runs for every PASID
      // after every descriptor).
      auto who = [&] { return d.guest.str() + " pasid " + std::to_string(p); };
      // P16: a binding the host refused to change is either reported to the
      // guest or blocked; only then P13 makes no demand of it.
      auto refused_by_host = [&]() {
        if (!line.failed || told > line.failed || hwpt == 0) return line.failed != 0;
        fail(Property::P16,
             "a host call for " + who() + " failed and the guest was not told: it stays bound to " +
                 bound_text(hwpt),
             {"guest entry: " + line.e.str()}, "unreported");
        return true;
      };
      if (remap != vmm::Remap::On) {
        Want w;
        w.kind = p == 0 ? Want::Parent : Want::Blocked;
        if (matches(w, d, hwpt) || refused_by_host()) {
          if (violated_) return;
          continue;
        }
        return fail(Property::P13,
                    std::string("remapping is ") + vmm::remap_name(remap) + ": " + who() +
                        " must be " + (p == 0 ? "on the default HWPT" : "blocked") +
                        ", but is bound to " + bound_text(hwpt),
                    {}, "default");
      }
      const Entry now = guest_entry(d.guest, p);
      const Want cached = want_of(line.e), fresh = want_of(now);
      const bool mc = matches(cached, d, hwpt), mf = matches(fresh, d, hwpt);
      // An entry read since the line was covered, not due yet (no fault).
      const bool ms = std::any_of(line.seen.begin(), line.seen.end(),
                                  [&](const Entry& e) { return matches(want_of(e), d, hwpt); });
      auto details = [&] {
        std::vector<std::string> d = {
            "guest entry (as covered): " + line.e.str(), "guest entry (now):        " + now.str(),
            "must be: " + want_text(cached) +
                (mf || cached.kind == fresh.kind ? "" : " (or " + want_text(fresh) + ")")};
        for (const Entry& e : line.seen) d.push_back("or (read since, not reached): " + e.str());
        return d;
      };
      // The guest heard of a failure for an entry the VMM may hold (the
      // line, one it read that nothing since reached, or the entry now):
      // the device is in error, which P16 judges (as the guest's oracle
      // does, R20), whatever an invalidation covered since, bound or
      // blocked (R29: a PASID-selective invalidation with another DID
      // reached the line, not the failed entry the VMM had read).
      auto fe = faulted_.find(k);
      if (fe != faulted_.end() && (fe->second == now || line.may_hold(fe->second))) continue;
      if (!mc && !mf && !ms) {
        if (refused_by_host()) {
          if (violated_) return;
          continue;
        }
        return fail(
            Property::P13,
            who() + " is bound to " + bound_text(hwpt) + ", not to what the guest entry says",
            details(), "binding");
      }
      // A refused entry blocks the device and the guest hears of that entry,
      // once an invalidation reached it (an entry changed since is not due).
      const bool ok = (mc && cached.kind != Want::Refused) ||
                      (mf && (fresh.kind != Want::Refused || !(now == line.e))) || ms;
      if (!ok)
        return fail(
            Property::P13,
            who() + " has a PGTT the unit cannot run: it is blocked, but no fault was reported",
            details(), "refused");
    }
  }
}

// P15: every nested HWPT is attached exactly once, or destroyed.
void ViommuJudge::check_objects() {
  for (const auto& [id, o] : objs_) {
    if (o.kind != vmm::ObjKind::HwptNested) continue;
    size_t n = 0;
    for (const auto& [k, hwpt] : att_) n += hwpt == id;
    if (n == 1) continue;
    return fail(Property::P15,
                "nested HWPT " + std::to_string(id) +
                    (n ? " is attached " + std::to_string(n) + " times"
                       : " is attached to nothing and was never destroyed"),
                {bound_text(id)}, n ? "shared" : "leak");
  }
}

// ------------------------------------------------------------ reports --

void ViommuJudge::fail(Property p, const std::string& what, std::vector<std::string> details,
                       const std::string& kind) {
  if (violated_) return;
  violated_ = true;
  v_.property = p;
  v_.op_index = op_index_;
  v_.op_text = op_text_;
  v_.point = point_.empty() ? "end" : point_;
  v_.what = what;
  v_.details = std::move(details);
  v_.sig_text = std::string(property_name(p)) + " " + propagator_ + " " + op_kind_ + " " + kind;
  v_.sign();
  v_.events = ring_.texts([](const VmmEvent& e, const std::string& at) {
    return "[" + (at.empty() ? std::string("op") : at) + "] " + vmm::describe(e);
  });
}

}  // namespace vtd::oracle

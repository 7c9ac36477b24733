#include "oracle/oracle.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "prog/program.h"
#include "simulator/invq.h"
#include "simulator/registers.h"

namespace vtd::oracle {

using sim::hex;
using sim::pasid_str;

using drv::DomainId;
using drv::DomainType;
using sim::Entry;
using sim::EntryKind;
using sim::Field;
using sim::HwEvent;
using sim::PhysAddr;
using sim::Sid;

namespace {

bool is_table_page(sim::PageType t) {
  return t == sim::PageType::Root || t == sim::PageType::Context || t == sim::PageType::PasidDir ||
         t == sim::PageType::PasidTable || t == sim::PageType::PageTable;
}

}  // namespace

Oracle::Oracle(const sim::Machine& m, const drv::Writer& writer, std::string writer_name)
    : Oracle(m.mem, m.iommu, writer, std::move(writer_name)) {}

Oracle::Oracle(const sim::PhysMemory& mem, const sim::Iommu& iommu, const drv::Writer& writer,
               std::string writer_name)
    : m_{mem, iommu},
      writer_(writer),
      writer_name_(std::move(writer_name)),
      model_(iommu.config().scalable) {
  const sim::Config& c = iommu.config();
  caps_.scalable = c.scalable;
  caps_.coherent = c.coherent;
  caps_.cm = c.caching_mode;
  caps_.cpu128 = c.cpu128;
  caps_.fetch128 = c.quantum_bits == 128;
  // Room for a typical execution at once (simulator/flat_map.h).
  sim::room(fetched_, 64);
  sim::room(pairs_, 32);
  sim::room(consumers_, 32);
  sim::room(owners_, 16);
  sim::room(held_, 8);
  sim::room(outcomes_, 8);
  if (!caps_.coherent) sim::room(lines_, 64);  // dirty lines, at every outer op's end
}

// ---------------------------------------------------------------- ops --

void Oracle::begin(uint32_t op_index, const ApiCall& c, int cpu) {
  if (stack_.empty()) {
    point_ = {};
    fetched_.clear();
    dmas_.clear();
    temps_.clear();
  }
  model_.begin(c);
  InFlight& f = stack_.push();  // a slot as the last end() left it: every field set
  f.call = c;
  f.op_index = op_index;
  f.cpu = cpu;
  f.trans = model_.in_flight().back().moves;
  f.settled.clear();
}

void Oracle::end(drv::Status st) {
  if (stack_.empty()) return;
  // Not a copy: the outer op's settled entries are a map (the copy was a
  // tenth of the fuzz loop's allocations). Nothing below pushes or pops.
  const InFlight& f = stack_.back();
  if (violated_) {
    model_.end(false);
    stack_.pop();
    return;
  }
  if (st == drv::Status::TimedOut)
    fail(Property::P7,
         "an invalidation wait never completed (" + std::string(f.call.name()) +
             " returned -ETIMEDOUT)",
         {}, "queue", "end");
  bool outer = stack_.size() == 1;
  if (outer) check_deferred(f);
  // The op's effects are applied: it no longer counts as in flight, but it
  // stays on the stack until the checks are done, so that findings name it.
  model_.end(drv::ok(st));
  if (!outer) settle_nested(f);
  if (outer) learn_owners();
  check_caches(outer);
  check_lu(f, outer, st);
  stack_.pop();
  if (outer) settle();
}

// A nested op has returned: the root, context and PASID entries it changed
// now hold a configuration the hardware may legally fetch until the outer op
// returns (which cannot touch the same device: the second CPU runs only when
// the locks allow).
void Oracle::settle_nested(const InFlight& f) {
  auto& settled = stack_.front().settled;
  for (const Move& t : f.trans) {
    Located loc = locate(m_.mem, m_.iommu.rtaddr(), t.sid, t.key == 0 ? sim::kNoPasid : t.key);
    for (const EntryLoc& at : {loc.root, loc.context, loc.pasid})
      if (at.pa) settled[at.pa].push_back(read_now(m_.mem, at));
  }
}

// A torn entry makes the walker read garbage, fault or fill wrongly: report
// the cause, not its consequences.
void Oracle::settle() {
  if (pending_.empty()) return;
  auto first = std::min_element(
      pending_.begin(), pending_.end(), [](const Violation& a, const Violation& b) {
        return property_info(a.property).rank < property_info(b.property).rank;
      });
  v_ = *first;
  violated_ = true;
  pending_.clear();
}

void Oracle::point(sim::PointKind k, uint32_t index) {
  point_ = {k == sim::PointKind::Wait ? sim::PointKind::Wait : sim::PointKind::Store, index};
  if (!violated_ && !model_.continuity().empty()) check_continuity(point_);
}

Oracle::Where Oracle::where() const {
  return stack_.empty() ? Where{} : point_;
}

std::string Oracle::Where::str() const {
  if (!index) return "between ops";
  return (kind == sim::PointKind::Wait ? "wait " : "store ") + std::to_string(index);
}

// -------------------------------------------------------------- events --

void Oracle::on_event(const HwEvent& e) {
  ring_.add(e, where());
  if (violated_) return;
  lu_event(e);

  switch (e.kind) {
    case sim::EventKind::EntryFetched:
      if (!stack_.empty() && e.entry_kind != EntryKind::SsPte && e.entry_kind != EntryKind::FsPte)
        fetched_.push_back({{e.entry_kind, e.addr}, *e.entry, where(), e.sid, e.pasid});
      break;
    case sim::EventKind::Dma:
      check_dma(e);
      break;
    case sim::EventKind::CacheFill:
      if (e.cache == sim::CacheKind::Iotlb) check_fill(e);
      break;
    case sim::EventKind::CacheInval:
      if (e.cache == sim::CacheKind::Iotlb) {
        // An invalidation covering a whole tag starts a new fill epoch (P5).
        bool whole = e.v0 == 0;
        for (auto it = fills_.begin(); it != fills_.end();) {
          const TagKey& tag = std::get<0>(it->first);
          bool covered = e.v1 || (whole && tag.first == e.did &&
                                  (e.pasid == sim::kNoPasid || tag.second == e.pasid));
          it = covered ? fills_.erase(it) : std::next(it);
        }
      }
      break;
    case sim::EventKind::UnsafeRead: {
      const std::string hazard = sim::hazard_name(e.hazard);  // "an unpublished", "a freed-page"
      fail(Property::P6,
           "hardware read " + std::string(strchr("aeiou", hazard[0]) ? "an " : "a ") + hazard +
               " " + sim::page_type_name(e.page_type) + " page at " + hex(e.addr),
           {"walk: sid=" + e.sid.str() + " pasid=" + pasid_str(e.pasid) + " iova=" + hex(e.iova)},
           sim::page_type_name(e.page_type), here());
      break;
    }
    case sim::EventKind::QueueError:
      if (!e.injected)
        fail(Property::P7,
             std::string("invalidation queue error ") +
                 (e.v0 == sim::fsts::IQE   ? "IQE"
                  : e.v0 == sim::fsts::ITE ? "ITE"
                                           : "ICE") +
                 " on a " + sim::desc_type_name(e.desc_type) + " descriptor",
             {}, "queue", here());
      break;
    default:
      break;
  }
}

void Oracle::check_dma(const HwEvent& e) {
  if (e.fault == sim::FaultReason::DeviceAbsent) return;
  bool write = e.access == sim::Access::Write;
  bool fault = e.fault != sim::FaultReason::None;
  uint32_t key;
  if (fault && model_.key_of(e.sid, e.pasid, &key))
    for (const InFlight& f : stack_)
      for (const Move& t : f.trans)
        if (t.from && t.to && t.sid == e.sid && t.key == key &&
            model_.mapped_alike(t.from, t.to, e.iova, write))
          dmas_.push_back({t, e.iova, where()});
  std::vector<Outcome>& os = outcomes_;
  model_.allowed(e.sid, e.pasid, e.iova, &os);
  for (Outcome& o : os)
    if (!o.fault && o.pa >= memory_limit_) o = Outcome{};  // beyond a guest's memory
  if (Model::matches(os, fault, e.addr, write, false)) return;
  std::vector<std::string> d;
  std::string expect;
  for (const Outcome& o : os)
    expect += (expect.empty() ? "" : ", ") +
              (o.fault ? std::string("fault") : hex(o.pa) + (o.writable ? " rw" : " r"));
  d.push_back("dma: sid=" + e.sid.str() + " pasid=" + pasid_str(e.pasid) + " iova=" + hex(e.iova) +
              (write ? " write" : " read"));
  d.push_back(
      "got: " + (fault ? std::string("fault ") + sim::fault_reason_name(e.fault) : hex(e.addr)) +
      (e.count ? " (device-TLB)" : ""));
  d.push_back("allowed: " + expect);
  if (lu_dma(e, d)) return;  // live update: P9 or P12
  if (write && !fault)
    fail(Property::P8,
         "DMA write landed at " + hex(e.addr) + ", not where the model puts iova " + hex(e.iova), d,
         "dma", here());
  else
    fail(Property::P2,
         "DMA " + std::string(write ? "write" : "read") + " of iova " + hex(e.iova) + " gave " +
             (fault ? "a fault" : hex(e.addr)) + ", which no allowed configuration gives",
         d, "dma", here());
}

void Oracle::check_fill(const HwEvent& e) {
  if (!e.xlat) return;
  const sim::Translation& t = *e.xlat;
  TagKey tag{t.did, t.pasid_tag};
  Source src{t.root, t.pgtt};
  Requester req{e.sid.v, e.pasid};
  // Spec 6.2.1, statically: the tag's owner names one table; a fill under
  // the tag from another aliases the owner's translations, whoever shares
  // the DID, the filling device included.
  if (const Owner* o = owner(tag);
      o && tags_did(o->dom, t.did) && (o->root != t.root || o->pgtt != t.pgtt)) {
    fail(Property::P5,
         "IOTLB fill under DID " + std::to_string(t.did) + " pasid " + pasid_str(t.pasid_tag) +
             " from a table the entries owning that tag do not name",
         {"fill:  root " + hex(t.root) + " pgtt " + std::to_string(t.pgtt) + " by sid " +
              e.sid.str() + " pasid " + pasid_str(e.pasid) + " iova " + hex(e.iova),
          "owner: root " + hex(o->root) + " pgtt " + std::to_string(o->pgtt) + " (domain " +
              std::to_string(o->dom) + ", entry of sid " + o->sid.str() + " pasid " +
              std::to_string(o->key) + ")"},
         "iotlb", here());
    return;
  }
  for (auto& [fill, unused] : fills_) {
    const auto& [ftag, s, r] = fill;
    if (ftag != tag || s == src || r == req) continue;
    fail(Property::P5,
         "IOTLB tag DID " + std::to_string(t.did) + " pasid " + pasid_str(t.pasid_tag) +
             " holds fills from two translations with no invalidation between",
         {"first: root " + hex(s.first) + " pgtt " + std::to_string(s.second) + " by sid " +
              Sid(r.first).str() + " pasid " + pasid_str(r.second),
          "then:  root " + hex(src.first) + " pgtt " + std::to_string(src.second) + " by sid " +
              e.sid.str() + " pasid " + pasid_str(e.pasid) + " iova " + hex(e.iova)},
         "iotlb", here());
    return;
  }
  fills_[{tag, src, req}] = true;
  // B5 (seeds/001, Jason Gunthorpe: "you've corrupted the DID and corrupted
  // IOTLB for the second innocent device"): another device whose live entry
  // names this tag with a different table would hit what was just filled.
  // Its own replace in flight may legitimately hold either table.
  for (const Consumer& u : consumers()) {
    if (!u.uses(t.did, t.pasid_tag) || u.sid == e.sid || model_.moving(u.sid, u.key)) continue;
    if (u.root == t.root && u.pgtt == t.pgtt) continue;
    fail(Property::P5,
         "IOTLB fill under DID " + std::to_string(t.did) + " pasid " + pasid_str(t.pasid_tag) +
             " from a table another device's live entry does not name under that tag",
         {"fill:  root " + hex(t.root) + " pgtt " + std::to_string(t.pgtt) + " by sid " +
              e.sid.str() + " pasid " + pasid_str(e.pasid) + " iova " + hex(e.iova),
          "entry: root " + hex(u.root) + " pgtt " + std::to_string(u.pgtt) + " of sid " +
              u.sid.str() + " pasid " + std::to_string(u.key)},
         "iotlb", here());
    return;
  }
}

void Oracle::on_cache_tag(DomainId dom, const drv::CacheTag& t, bool added) {
  if (t.kind != drv::CacheTag::Kind::Iotlb) return;
  const int step = added ? 1 : -1;
  dom_dids_[{dom, t.did}] += step;
  tagged_[{dom, t.sid.v, t.pasid, t.did}] += step;
  if (!added) return;
  // A DID tagged on both domains of a move in flight is a temporary DID
  // (seeds/001: "hook multiple DIDs into the same domain").
  for (const Model::Flight& f : model_.in_flight())
    for (const Move& m : f.moves) {
      if (m.sid != t.sid || m.key != t.pasid || !m.from || !m.to || (dom != m.from && dom != m.to))
        continue;
      const DomainId peer = dom == m.from ? m.to : m.from;
      // An identity or blocking domain has no page table, so nothing an
      // unmap would flush: the driver tags it with nothing, and a DID
      // tagged on the side with tables is all a temporary DID needs.
      const int type = model_.domain_type(peer);
      if (type == int(drv::DomainType::Identity) || type == int(drv::DomainType::Blocking)) {
        temps_[{t.sid.v, t.pasid}].push_back(t.did);
        continue;
      }
      auto other = tagged_.find({peer, t.sid.v, t.pasid, t.did});
      if (other != tagged_.end() && other->second > 0) temps_[{t.sid.v, t.pasid}].push_back(t.did);
    }
}

std::vector<uint16_t> Oracle::temporaries(Sid sid, uint32_t key) const {
  auto it = temps_.find({sid.v, key});
  return it == temps_.end() ? std::vector<uint16_t>{} : it->second;
}

bool Oracle::tags_did(DomainId dom, uint16_t did) const {
  auto it = dom_dids_.find({dom, did});
  return it != dom_dids_.end() && it->second > 0;
}

const Oracle::Owner* Oracle::owner(const TagKey& tag) const {
  for (const auto& [k, o] : owners_)
    if (k == tag) return &o;
  return nullptr;
}

// Who owns each IOTLB tag once the outer op has returned: the entries of
// every attachment, as the hardware would read them. Two that name one
// tag with different tables break spec 6.2.1 at rest.
void Oracle::learn_owners() {
  if (violated_) {
    owners_.clear();
    owners_learned_.forget();
    return;
  }
  Attachments& now = atts_now_;
  now.rtaddr = m_.iommu.rtaddr();
  now.atts.clear();
  sim::room(now.atts, 32);  // it and the kept key swap: each grows once
  for (auto& [sidv, dev] : model_.devices())
    for (auto& [key, dom] : dev.att) now.atts.push_back({sidv, key, dom});
  if (owners_learned_.holds(now, m_.mem)) return;  // the same entries: the same owners
  owners_.clear();
  std::vector<PhysAddr>* reads = owners_learned_.start(m_.mem);
  for (auto& [sidv, dev] : model_.devices())
    for (auto& [key, dom] : dev.att) {
      Located loc = locate(m_.mem, now.rtaddr, Sid(sidv), key == 0 ? sim::kNoPasid : key, reads);
      const Entry e = read_now(m_.mem, caps_.scalable ? loc.pasid : loc.context);
      if (!e.present() || sim::decode(e) != sim::FaultReason::None) continue;
      const uint64_t pgtt =
          e.kind == EntryKind::LegacyContext
              ? (e.get(Field::TT) == sim::kTtPassThrough ? sim::kPgttPassThrough : sim::kPgttSecond)
              : e.get(Field::PGTT);
      if (pgtt == sim::kPgttPassThrough) continue;
      const bool fs = pgtt == sim::kPgttFirst || pgtt == sim::kPgttNested;
      const TagKey tag{uint16_t(e.get(Field::DID)), fs ? key : sim::kNoPasid};
      const Owner o{dom, fs ? e.get(Field::FSPTPTR) : e.get(Field::SSPTPTR), uint8_t(pgtt),
                    Sid(sidv), key};
      const Owner* it = owner(tag);
      if (!it) {
        owners_.push_back({tag, o});
        continue;
      }
      if (it->root == o.root && it->pgtt == o.pgtt) continue;
      fail(Property::P5,
           "two entries name DID " + std::to_string(tag.first) + " pasid " + pasid_str(tag.second) +
               " with different tables",
           {"entry of sid " + it->sid.str() + " pasid " + std::to_string(it->key) + ": root " +
                hex(it->root) + " pgtt " + std::to_string(it->pgtt),
            "entry of sid " + o.sid.str() + " pasid " + std::to_string(key) + ": root " +
                hex(o.root) + " pgtt " + std::to_string(o.pgtt)},
           "iotlb", "end");
      return;
    }
  owners_learned_.clean(&now);
}

bool Oracle::hitless_at(const EntryLoc& at, Entry* old, Entry* now) const {
  *old = read_epoch(m_.mem, at);
  *now = read_now(m_.mem, at);
  return old->present() && now->present() && writer_.hitless(caps_, *old, *now);
}

// P1 and P3: judged when the outer op returns, against the entry's value
// when the op began (old) and when it returned (new).
void Oracle::check_deferred(const InFlight& f) {
  for (const Fetched& x : fetched_) {
    // A scalable root entry is two independent entries: only the half this
    // requester uses counts.
    auto used = [&](Entry e) {
      if (x.at.kind == EntryKind::ScalableRoot) e.w[x.sid.devfn() >= 128 ? 0 : 1] = 0;
      return e;
    };
    const Entry old = used(read_epoch(m_.mem, x.at)), now = used(read_now(m_.mem, x.at)),
                seen = used(x.observed);
    // What the entry legally held while the op ran: its value when the op
    // began and when it returned, and what nested ops left in it.
    std::vector<Entry>& held = held_;  // scratch: no allocation per fetched entry
    held.assign({old, now});
    if (auto settled = f.settled.find(x.at.pa); settled != f.settled.end())
      for (const Entry& b : settled->second) held.push_back(used(b));
    // Only a PASID entry is the PASID's own; any other entry (a legacy
    // context entry above all) is the RID's, whatever PASID the request
    // carried, and so are its temporary DIDs.
    const bool pasid_own = x.at.kind == EntryKind::PasidEntry && x.pasid != sim::kNoPasid;
    const uint32_t key = pasid_own ? x.pasid : 0;
    if (legal_entry(seen, held, temporaries(x.sid, key))) continue;
    bool writer_entry = x.at.kind == EntryKind::LegacyContext ||
                        x.at.kind == EntryKind::PasidEntry ||
                        x.at.kind == EntryKind::ScalableContext;
    std::vector<std::string> d = {
        "old:      " + old.str(), "new:      " + now.str(), "observed: " + x.observed.str(),
        std::string(sim::entry_kind_name(x.at.kind)) + " at " + hex(x.at.pa) + " (sid " +
            x.sid.str() + " pasid " + pasid_str(x.pasid) + ")"};
    if (!seen.present()) {
      if (writer_entry && old.present() && now.present() && writer_.hitless(caps_, old, now)) {
        fail(Property::P3,
             "the writer declared this replace hitless, but the hardware saw the entry not present",
             d, sim::entry_kind_name(x.at.kind), x.point.str());
        return;
      }
      continue;
    }
    // The DID is a used field (spec 6.2.1: it tags every fill): one
    // configuration's tables under another's DID is a torn entry too.
    fail(Property::P1,
         "the hardware assembled an entry that is neither the old nor the new configuration" +
             std::string(legal_configuration(seen, held)
                             ? " (the DID of one with the tables of the other)"
                             : ""),
         d, sim::entry_kind_name(x.at.kind), x.point.str());
    return;
  }
  // P3 for DMAs: a hitless replace must keep IOVAs mapped alike translating.
  for (const Move& t : f.trans) {
    if (!t.from || !t.to) continue;
    Located loc = locate(m_.mem, m_.iommu.rtaddr(), t.sid, t.key == 0 ? sim::kNoPasid : t.key);
    EntryLoc at = caps_.scalable ? loc.pasid : loc.context;
    Entry old, now;
    if (!at.pa || !hitless_at(at, &old, &now)) continue;
    for (const DmaSeen& d : dmas_) {
      // Judged by the mappings when the DMA ran (R14), not at the op's end.
      if (d.t != t) continue;
      fail(Property::P3,
           "a DMA to iova " + hex(d.iova) +
               ", mapped alike in the old and new domain, faulted during a replace "
               "the writer declared hitless",
           {"old: " + old.str(), "new: " + now.str()}, sim::entry_kind_name(at.kind),
           d.point.str());
      return;
    }
  }
}

Entry Oracle::effective_entry(Sid sid, uint32_t pasid_eff, bool* present) const {
  const sim::Caches& c = m_.iommu.caches();
  if (caps_.scalable) {
    auto it = c.pasid().find({sid.v, pasid_eff});
    if (it != c.pasid().end()) {
      *present = it->second.entry.present();
      return it->second.entry;
    }
    Located loc = locate(m_.mem, m_.iommu.rtaddr(), sid, pasid_eff);
    Entry e = read_now(m_.mem, loc.pasid);
    *present = loc.pasid.pa && e.present() && sim::decode(e) == sim::FaultReason::None;
    return e;
  }
  auto it = c.ctx().find(sid.v);
  if (it != c.ctx().end()) {
    *present = it->second.entry.present();
    return it->second.entry;
  }
  Located loc = locate(m_.mem, m_.iommu.rtaddr(), sid, sim::kNoPasid);
  Entry e = read_now(m_.mem, loc.context);
  *present = loc.context.pa && e.present() && sim::decode(e) == sim::FaultReason::None;
  return e;
}

// Consumers of IOTLB / paging-structure tags: (device, PASID) pairs whose
// effective entry is present and translates (spec 6.2.1: second-stage fills
// are tagged by DID, first-stage and nested fills by DID and PASID).
const std::vector<Oracle::Consumer>& Oracle::consumers() const {
  // (sid, key) pairs, each once, in order: sorted scratch, no allocation
  // once the buffers have grown.
  std::vector<std::pair<uint16_t, uint32_t>>& pairs = pairs_;
  pairs.clear();
  for (auto& [sidv, dev] : model_.devices()) {
    pairs.push_back({sidv, 0});
    for (auto& [key, dom] : dev.att) pairs.push_back({sidv, key});
  }
  for (auto& [k, line] : m_.iommu.caches().pasid()) pairs.push_back(k);
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  std::vector<Consumer>& out = consumers_;
  out.clear();
  for (auto [sidv, key] : pairs) {
    bool present;
    Entry e = effective_entry(Sid(sidv), key, &present);
    if (!present) continue;
    uint64_t pgtt =
        e.kind == EntryKind::LegacyContext
            ? (e.get(Field::TT) == sim::kTtPassThrough ? sim::kPgttPassThrough : sim::kPgttSecond)
            : e.get(Field::PGTT);
    if (pgtt == sim::kPgttPassThrough) continue;
    bool fs = pgtt == sim::kPgttFirst || pgtt == sim::kPgttNested;
    out.push_back({Sid(sidv), key, uint16_t(e.get(Field::DID)), fs ? key : sim::kNoPasid,
                   fs ? e.get(Field::FSPTPTR) : e.get(Field::SSPTPTR), uint8_t(pgtt)});
  }
  return out;
}

// P4: when an op returns, every cache line still reachable agrees with
// memory and with the abstract state. Lines of (device, PASID) pairs an
// outer op is still changing may hold the old or the new value.
// The context- and PASID-cache lines of devices no op is changing agree
// with memory; false once one does not (reported).
bool Oracle::entry_lines_clean() {
  const sim::Caches& c = m_.iommu.caches();
  const uint64_t rt = m_.iommu.rtaddr();
  Lines& now = lines_now_;
  now.rtaddr = rt;
  now.lines.clear();
  sim::room(now.lines, 32);
  for (auto& [sidv, line] : c.ctx())
    if (!model_.moving(Sid(sidv), 0) && !model_.device_call_in_flight(Sid(sidv)))
      now.lines.push_back({sidv, true, sim::kNoPasid, line.entry});
  for (auto& [k, line] : c.pasid())
    if (!model_.moving(Sid(k.first), k.second))
      now.lines.push_back({k.first, false, k.second, line.entry});
  if (entry_lines_.holds(now, m_.mem)) return true;
  std::vector<PhysAddr>* reads = entry_lines_.start(m_.mem);
  for (const CheckedLine& l : now.lines) {
    const Sid sid(l.sid);
    const bool context = l.context;
    const Located loc = locate(m_.mem, rt, sid, l.pasid, reads);
    const EntryLoc& at = context ? loc.context : loc.pasid;
    const Entry mem = at.pa     ? read_now(m_.mem, at)
                      : context ? Entry(l.entry.kind)
                                : Entry(sim::EntryKind::PasidEntry);
    if (sim::config_of(mem) == sim::config_of(l.entry)) continue;
    fail(Property::P4,
         context ? "context-cache line of " + sid.str() + " differs from memory"
                 : "PASID-cache line of " + sid.str() + " pasid " + std::to_string(l.pasid) +
                       " differs from memory",
         {"cached: " + l.entry.str(), "memory: " + mem.str()}, context ? "context" : "pasid",
         "end");
    return false;
  }
  entry_lines_.clean(&now);
  return true;
}

void Oracle::check_caches(bool outer_end) {
  const sim::Caches& c = m_.iommu.caches();
  auto stale = [&](const std::string& what, std::vector<std::string> d, const char* kind) {
    fail(Property::P4, what, std::move(d), kind, "end");
  };
  if (!entry_lines_clean()) return;
  const std::vector<Consumer>& live = c.iotlb().empty() ? consumers_ : consumers();
  for (auto& [k, t] : c.iotlb()) {
    for (const Consumer& u : live) {
      if (!u.uses(k.did, k.pasid_tag)) continue;
      const Sid sid = u.sid;
      const uint32_t key = u.key;
      const Device* dev = model_.device(sid);
      if (!dev || dev->gone) continue;
      std::vector<Outcome>& os = outcomes_;
      model_.allowed(sid, key == 0 ? sim::kNoPasid : key, k.base, &os);
      if (Model::matches(os, false, t.pa, false, t.writable)) continue;
      return stale("IOTLB entry DID " + std::to_string(k.did) + " iova " + hex(k.base) + " -> " +
                       hex(t.pa) + " is still reachable by " + sid.str() + " pasid " +
                       std::to_string(key) + ", whose domain no longer maps it so",
                   {"iotlb: did=" + std::to_string(k.did) + " pasid=" + pasid_str(k.pasid_tag) +
                    " iova=" + hex(k.base) + " pa=" + hex(t.pa) + (t.writable ? " rw" : " r") +
                    " root=" + hex(t.root)},
                   "iotlb");
    }
  }
  for (auto& [k, line] : c.psc()) {
    if (m_.mem.type(line.table) != sim::PageType::PageTable)
      return stale("paging-structure cache points at a " +
                       std::string(sim::page_type_name(m_.mem.type(line.table))) + " page " +
                       hex(line.table),
                   {"psc: did=" + std::to_string(k.did) + " level=" + std::to_string(k.level) +
                    " iova=" + hex(k.base)},
                   "psc");
  }
  for (auto& [k, t] : c.devtlb()) {
    Sid sid(k.sid);
    const Device* dev = model_.device(sid);
    if (!dev || dev->gone) continue;
    std::vector<Outcome>& os = outcomes_;
    model_.allowed(sid, k.pasid, k.base, &os);
    if (Model::matches(os, false, t.pa, false, t.writable)) continue;
    return stale(
        "device-TLB of " + sid.str() + " still translates iova " + hex(k.base) + " to " + hex(t.pa),
        {"devtlb: sid=" + sid.str() + " pasid=" + pasid_str(k.pasid) + " iova=" + hex(k.base) +
         " pa=" + hex(t.pa)},
        "devtlb");
  }
  if (outer_end && !caps_.coherent) {
    m_.mem.dirty_lines(&lines_);
    for (PhysAddr line : lines_) {
      if (!is_table_page(m_.mem.type(line))) continue;
      return stale(
          "a " + std::string(sim::page_type_name(m_.mem.type(line))) + " line at " + hex(line) +
              " was never written back: the non-coherent IOMMU still reads the old contents",
          {}, "cpu-cache");
    }
  }
}

// ------------------------------------------------------------- reports --

void Oracle::fail(Property p, const std::string& what, std::vector<std::string> details,
                  const std::string& entry_kind, const std::string& point) {
  if (violated_) return;
  for (const Violation& x : pending_)
    if (x.property == p) return;  // the first finding of each property is kept
  Violation v;
  v.property = p;
  const InFlight* f = stack_.empty() ? nullptr : &stack_.front();
  v.op_index = f ? f->op_index : 0;
  v.op_text = !f                                   ? ""
              : f->call.op && f->call.text.empty() ? prog::op_text(*f->call.op)
                                                   : f->call.text;
  v.point = point;
  v.what = what;
  v.details = std::move(details);
  std::string op_kind = f ? f->call.name() : "-";
  if (stack_.size() > 1) op_kind += std::string("+cpu2-") + stack_.back().call.name();
  v.sig_text =
      std::string(property_name(p)) + " " + writer_name_ + " " + op_kind + " " + entry_kind;
  v.sign();
  v.events = ring_.texts(
      [](const HwEvent& e, const Where& at) { return "[" + at.str() + "] " + sim::describe(e); });
  pending_.push_back(std::move(v));
  if (stack_.empty()) settle();
}

}  // namespace vtd::oracle

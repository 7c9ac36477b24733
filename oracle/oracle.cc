#include "oracle/oracle.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

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

constexpr size_t kRing = 24;

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

bool is_table_page(sim::PageType t) {
  return t == sim::PageType::Root || t == sim::PageType::Context || t == sim::PageType::PasidDir ||
         t == sim::PageType::PasidTable || t == sim::PageType::PageTable;
}

}  // namespace

Oracle::Oracle(const sim::Machine& m, const drv::Writer& writer, std::string writer_name)
    : m_(m), writer_(writer), writer_name_(std::move(writer_name)) {
  const sim::Config& c = m.config();
  caps_.scalable = c.scalable;
  caps_.coherent = c.coherent;
  caps_.cm = c.caching_mode;
  caps_.cpu128 = c.cpu128;
  caps_.fetch128 = c.quantum_bits == 128;
  ring_.resize(kRing);
}

// --------------------------------------------------------------- model --

bool Oracle::key_of(Sid sid, uint32_t pasid, uint32_t* key) const {
  auto it = devs_.find(sid.v);
  if (it == devs_.end()) return false;
  if (pasid == sim::kNoPasid) {
    *key = 0;
    return true;
  }
  if (!caps_.scalable || !it->second.pasid_cap) return false;  // PASID requests fault
  *key = pasid;  // PASID 0 is RID_PASID: the RID's entry
  return true;
}

std::vector<Oracle::Trans> Oracle::transitions(const ApiCall& c) const {
  std::vector<Trans> t;
  auto cur = [&](Sid sid, uint32_t key) -> DomainId {
    auto d = devs_.find(sid.v);
    if (d == devs_.end()) return 0;
    auto a = d->second.att.find(key);
    return a == d->second.att.end() ? 0 : a->second;
  };
  auto target = [&](DomainId id) -> DomainId {
    auto d = doms_.find(id);
    return d == doms_.end() || d->second.type == DomainType::Blocking ? 0 : id;
  };
  switch (c.call) {
    case Call::Attach:
    case Call::Replace:
      t.push_back({c.sid, 0, cur(c.sid, 0), target(c.dom)});
      break;
    case Call::Detach:
      t.push_back({c.sid, 0, cur(c.sid, 0), 0});
      break;
    case Call::SetPasid:
      if (c.pasid != sim::kNoPasid)
        t.push_back({c.sid, c.pasid, cur(c.sid, c.pasid), target(c.dom)});
      break;
    case Call::RemovePasid:
      if (c.pasid != sim::kNoPasid) t.push_back({c.sid, c.pasid, cur(c.sid, c.pasid), 0});
      break;
    case Call::Release:
    case Call::SurpriseRemove: {
      auto d = devs_.find(c.sid.v);
      if (d == devs_.end()) break;
      std::vector<Sid> all = d->second.vfs;
      all.push_back(c.sid);
      for (Sid s : all) {
        auto dv = devs_.find(s.v);
        if (dv == devs_.end()) continue;
        for (auto& [key, dom] : dv->second.att) t.push_back({s, key, dom, 0});
        // Its context entry goes too, whatever is attached.
        if (!dv->second.att.count(0)) t.push_back({s, 0, 0, 0});
      }
      break;
    }
    default:
      break;
  }
  return t;
}

void Oracle::apply(const InFlight& f) {
  const ApiCall& c = f.call;
  switch (c.call) {
    case Call::Domain: {
      Dom d;
      d.type = c.dtype;
      d.parent = c.dtype == DomainType::Nested ? c.parent : 0;
      doms_[c.dom] = d;
      break;
    }
    case Call::Free:
      doms_.erase(c.dom);
      break;
    case Call::Map:
      doms_[c.dom].maps[c.iova] = {c.pa, c.size, c.perm};
      break;
    case Call::Unmap: {
      auto& maps = doms_[c.dom].maps;
      for (auto it = maps.begin(); it != maps.end();) {
        bool hit = it->first < c.iova + c.size && c.iova < it->first + it->second.size;
        it = hit ? maps.erase(it) : std::next(it);
      }
      break;
    }
    case Call::Probe: {
      Dev d;
      d.ats = c.ats;
      d.pasid_cap = c.pasid_cap && caps_.scalable;
      devs_[c.sid.v] = d;
      break;
    }
    case Call::Vfs: {
      Dev& pf = devs_[c.sid.v];
      for (uint8_t i = 0; i < c.n; ++i) {
        Sid vf(uint8_t(c.sid.bus() + 1), 0, i);
        Dev d;
        d.ats = pf.ats;
        d.pasid_cap = pf.pasid_cap;
        d.vf = true;
        devs_[vf.v] = d;
        pf.vfs.push_back(vf);
      }
      break;
    }
    case Call::Release:
    case Call::SurpriseRemove: {
      Dev& d = devs_[c.sid.v];
      for (Sid vf : d.vfs) devs_.erase(vf.v);
      devs_.erase(c.sid.v);
      for (auto& [v, dev] : devs_)
        dev.vfs.erase(std::remove(dev.vfs.begin(), dev.vfs.end(), c.sid), dev.vfs.end());
      break;
    }
    default:
      for (const Trans& t : f.trans) {
        Dev& d = devs_[t.sid.v];
        if (t.to)
          d.att[t.key] = t.to;
        else
          d.att.erase(t.key);
      }
      break;
  }
}

DomainId Oracle::domain_of(Sid sid) const {
  auto d = devs_.find(sid.v);
  if (d == devs_.end()) return 0;
  auto a = d->second.att.find(0);
  return a == d->second.att.end() ? 0 : a->second;
}

size_t Oracle::devices_on(DomainId id) const {
  size_t n = 0;
  for (auto& [sidv, dev] : devs_) {
    auto a = dev.att.find(0);
    n += a != dev.att.end() && a->second == id;
  }
  return n;
}

int Oracle::domain_type(DomainId id) const {
  auto d = doms_.find(id);
  return d == doms_.end() ? -1 : int(d->second.type);
}

size_t Oracle::mappings_of(DomainId id) const {
  auto d = doms_.find(id);
  return d == doms_.end() ? 0 : d->second.maps.size();
}

// Any device call may change the device's context entry (the first PASID
// or RID attachment makes it present, a release tears it down).
bool Oracle::device_op_in_flight(Sid sid) const {
  for (size_t i = 0; i + ending_ < stack_.size(); ++i) {
    const ApiCall& c = stack_[i].call;
    if (c.sid == sid && c.call >= Call::Release && c.call <= Call::RemovePasid &&
        c.call != Call::Vfs)
      return true;
  }
  return false;
}

bool Oracle::in_transition(Sid sid, uint32_t key, const Trans** out) const {
  for (size_t i = 0; i + ending_ < stack_.size(); ++i)
    for (const Trans& t : stack_[i].trans)
      if (t.sid == sid && t.key == key) {
        if (out) *out = &t;
        return true;
      }
  return false;
}

void Oracle::domain_outcomes(DomainId id, sim::Iova iova, std::vector<Outcome>* out,
                             int depth) const {
  auto d = doms_.find(id);
  if (!id || d == doms_.end() || d->second.type == DomainType::Blocking || depth > 1) {
    out->push_back({true, 0, false});
    return;
  }
  const Dom& dom = d->second;
  if (dom.type == DomainType::Identity) {
    out->push_back({false, iova, true});
    return;
  }
  // Mappings being added or removed by an op in flight may or may not be
  // visible yet: both answers are allowed.
  bool changing = false;
  std::vector<Outcome> mine;
  const Mapping* cur = nullptr;
  sim::Iova base = 0;
  auto it = dom.maps.upper_bound(iova);
  if (it != dom.maps.begin() && iova < std::prev(it)->first + std::prev(it)->second.size) {
    base = std::prev(it)->first;
    cur = &std::prev(it)->second;
    mine.push_back({false, cur->pa + (iova - base), (cur->perm & drv::kWrite) != 0});
  }
  for (size_t i = 0; i + ending_ < stack_.size(); ++i) {
    const InFlight& f = stack_[i];
    if (f.call.dom != id) continue;
    if (f.call.call == Call::Map && iova >= f.call.iova && iova < f.call.iova + f.call.size) {
      changing = true;
      mine.push_back({false, f.call.pa + (iova - f.call.iova), (f.call.perm & drv::kWrite) != 0});
    }
    // An unmap removes every mapping it touches, whole (a large page too).
    if (f.call.call == Call::Unmap && cur && base < f.call.iova + f.call.size &&
        f.call.iova < base + cur->size)
      changing = true;
  }
  if (mine.empty() || changing) mine.push_back({true, 0, false});
  if (dom.type != DomainType::Nested) {
    out->insert(out->end(), mine.begin(), mine.end());
    return;
  }
  for (const Outcome& o : mine) {  // stage-1 output is a GPA: the parent translates it
    if (o.fault) {
      out->push_back(o);
      continue;
    }
    std::vector<Outcome> s2;
    domain_outcomes(dom.parent, o.pa, &s2, depth + 1);
    for (Outcome x : s2) {
      x.writable &= o.writable;
      out->push_back(x);
    }
  }
}

std::vector<Oracle::Outcome> Oracle::allowed(Sid sid, uint32_t pasid, sim::Iova iova) const {
  std::vector<Outcome> out;
  uint32_t key;
  if (!key_of(sid, pasid, &key)) {
    out.push_back({true, 0, false});
    return out;
  }
  const Dev& d = devs_.at(sid.v);
  auto a = d.att.find(key);
  domain_outcomes(a == d.att.end() ? 0 : a->second, iova, &out);
  const Trans* t;
  if (in_transition(sid, key, &t)) {
    domain_outcomes(t->from, iova, &out);
    domain_outcomes(t->to, iova, &out);
    out.push_back({true, 0, false});  // P3 judges faults of hitless replaces
  }
  return out;
}

bool Oracle::matches(const std::vector<Outcome>& os, bool fault, PhysAddr pa, bool write,
                     bool writable) {
  for (const Outcome& o : os) {
    if (fault) {
      if (o.fault || (write && !o.writable)) return true;
    } else if (!o.fault && o.pa == pa && (!write || o.writable) && (writable <= o.writable)) {
      return true;
    }
  }
  return false;
}

bool Oracle::mapped_alike(DomainId a, DomainId b, sim::Iova iova, bool write) const {
  std::vector<Outcome> oa, ob;
  domain_outcomes(a, iova, &oa);
  domain_outcomes(b, iova, &ob);
  if (oa.size() != 1 || ob.size() != 1 || oa[0].fault || ob[0].fault) return false;
  // A write to a page both map read-only faults before, during and after
  // the replace alike: that is no broken promise (corpus/regress/R13).
  if (write && !oa[0].writable) return false;
  return oa[0].pa == ob[0].pa && oa[0].writable == ob[0].writable;
}

// ---------------------------------------------------------------- ops --

void Oracle::begin(uint32_t op_index, const ApiCall& c, int cpu) {
  if (stack_.empty()) {
    point_.clear();
    fetched_.clear();
    dmas_.clear();
  }
  InFlight f;
  f.call = c;
  f.op_index = op_index;
  f.cpu = cpu;
  f.trans = transitions(c);
  if (c.call == Call::SurpriseRemove) {
    auto d = devs_.find(c.sid.v);
    if (d != devs_.end()) d->second.gone = true;
  }
  stack_.push_back(f);
}

void Oracle::end(drv::Status st) {
  if (stack_.empty()) return;
  InFlight f = stack_.back();
  if (violated_) {
    stack_.pop_back();
    return;
  }
  if (st == drv::Status::TimedOut)
    fail(Property::P7,
         "an invalidation wait never completed (" + f.call.name + " returned -ETIMEDOUT)", {},
         "queue", "end");
  bool outer = stack_.size() == 1;
  if (outer) check_deferred(f);
  if (drv::ok(st)) apply(f);
  if (!outer) settle_nested(f);
  // The op's effects are applied: it no longer counts as in flight, but it
  // stays on the stack so that findings name it.
  ending_ = true;
  check_caches(outer);
  ending_ = false;
  stack_.pop_back();
  if (outer) settle();
}

// A nested op has returned: the root, context and PASID entries it changed
// now hold a configuration the hardware may legally fetch until the outer op
// returns (which cannot touch the same device: the second CPU runs only when
// the locks allow).
void Oracle::settle_nested(const InFlight& f) {
  auto& settled = stack_.front().settled;
  for (const Trans& t : f.trans) {
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
  point_ = (k == sim::PointKind::Wait ? "wait " : "store ") + std::to_string(index);
}

std::string Oracle::here() const {
  return stack_.empty() || point_.empty() ? "between ops" : point_;
}

// -------------------------------------------------------------- events --

void Oracle::on_event(const HwEvent& e) {
  Ring& r = ring_[ring_next_++ % kRing];
  r.e = e;
  r.has_entry = e.entry != nullptr;
  if (r.has_entry) r.entry = *e.entry;
  r.has_xlat = e.xlat != nullptr;
  if (r.has_xlat) r.xlat = *e.xlat;
  r.e.entry = nullptr;
  r.e.xlat = nullptr;
  r.point = here();
  if (violated_) return;

  switch (e.kind) {
    case sim::EventKind::EntryFetched:
      if (!stack_.empty() && e.entry_kind != EntryKind::SsPte && e.entry_kind != EntryKind::FsPte)
        fetched_.push_back({{e.entry_kind, e.addr}, *e.entry, here(), e.sid, e.pasid});
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
          bool covered = e.v1 || (whole && it->first.first == e.did &&
                                  (e.pasid == sim::kNoPasid || it->first.second == e.pasid));
          it = covered ? fills_.erase(it) : std::next(it);
        }
      }
      break;
    case sim::EventKind::UnsafeRead:
      fail(Property::P6,
           std::string("hardware read a ") + sim::hazard_name(e.hazard) + " " +
               sim::page_type_name(e.page_type) + " page at " + hex(e.addr),
           {"walk: sid=" + e.sid.str() + " pasid=" + pasid_str(e.pasid) + " iova=" + hex(e.iova)},
           sim::page_type_name(e.page_type), here());
      break;
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
  if (fault && key_of(e.sid, e.pasid, &key))
    for (const InFlight& f : stack_)
      for (const Trans& t : f.trans)
        if (t.from && t.to && t.sid == e.sid && t.key == key &&
            mapped_alike(t.from, t.to, e.iova, write))
          dmas_.push_back({t, e.iova, here()});
  std::vector<Outcome> os = allowed(e.sid, e.pasid, e.iova);
  if (matches(os, fault, e.addr, write, false)) return;
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
  auto& sources = fills_[tag];
  for (auto& [s, reqs] : sources) {
    if (s == src) continue;
    for (const Requester& r : reqs) {
      if (r == req) continue;
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
  }
  sources[src].insert(req);
  // B5 (seeds/001, Jason Gunthorpe: "you've corrupted the DID and corrupted
  // IOTLB for the second innocent device"): another device whose live entry
  // names this tag with a different table would hit what was just filled.
  // Its own replace in flight may legitimately hold either table.
  for (const Consumer& u : consumers()) {
    if (!u.uses(t.did, t.pasid_tag) || u.sid == e.sid || in_transition(u.sid, u.key)) continue;
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
    const Entry s = shape(seen);
    if (s == shape(old) || s == shape(now)) continue;
    auto settled = f.settled.find(x.at.pa);
    if (settled != f.settled.end() &&
        std::any_of(settled->second.begin(), settled->second.end(),
                    [&](const Entry& b) { return shape(used(b)) == s; }))
      continue;
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
             d, sim::entry_kind_name(x.at.kind), x.point);
        return;
      }
      continue;
    }
    fail(Property::P1,
         "the hardware assembled an entry that is neither the old nor the new configuration", d,
         sim::entry_kind_name(x.at.kind), x.point);
    return;
  }
  // P3 for DMAs: a hitless replace must keep IOVAs mapped alike translating.
  for (const Trans& t : f.trans) {
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
           {"old: " + old.str(), "new: " + now.str()}, sim::entry_kind_name(at.kind), d.point);
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
std::vector<Oracle::Consumer> Oracle::consumers() const {
  std::set<std::pair<uint16_t, uint32_t>> pairs;  // (sid, key), each once
  for (auto& [sidv, dev] : devs_) {
    pairs.insert({sidv, 0});
    for (auto& [key, dom] : dev.att) pairs.insert({sidv, key});
  }
  for (auto& [k, line] : m_.iommu.caches().pasid()) pairs.insert(k);
  std::vector<Consumer> out;
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
void Oracle::check_caches(bool outer_end) {
  const sim::Caches& c = m_.iommu.caches();
  const uint64_t rt = m_.iommu.rtaddr();
  auto stale = [&](const std::string& what, std::vector<std::string> d, const char* kind) {
    fail(Property::P4, what, std::move(d), kind, "end");
  };
  for (auto& [sidv, line] : c.ctx()) {
    Sid sid(sidv);
    if (in_transition(sid, 0) || device_op_in_flight(sid)) continue;
    Located loc = locate(m_.mem, rt, sid, sim::kNoPasid);
    Entry mem = read_now(m_.mem, loc.context);
    if (!loc.context.pa) mem = Entry(line.entry.kind);
    if (sim::config_of(mem) == sim::config_of(line.entry)) continue;
    return stale("context-cache line of " + sid.str() + " differs from memory",
                 {"cached: " + line.entry.str(), "memory: " + mem.str()}, "context");
  }
  for (auto& [k, line] : c.pasid()) {
    Sid sid(k.first);
    if (in_transition(sid, k.second)) continue;
    Located loc = locate(m_.mem, rt, sid, k.second);
    Entry mem = read_now(m_.mem, loc.pasid);
    if (!loc.pasid.pa) mem = Entry(sim::EntryKind::PasidEntry);
    if (sim::config_of(mem) == sim::config_of(line.entry)) continue;
    return stale("PASID-cache line of " + sid.str() + " pasid " + std::to_string(k.second) +
                     " differs from memory",
                 {"cached: " + line.entry.str(), "memory: " + mem.str()}, "pasid");
  }
  const std::vector<Consumer> live = c.iotlb().empty() ? std::vector<Consumer>{} : consumers();
  for (auto& [k, t] : c.iotlb()) {
    for (const Consumer& u : live) {
      if (!u.uses(k.did, k.pasid_tag)) continue;
      const Sid sid = u.sid;
      const uint32_t key = u.key;
      auto dev = devs_.find(sid.v);
      if (dev == devs_.end() || dev->second.gone) continue;
      std::vector<Outcome> os = allowed(sid, key == 0 ? sim::kNoPasid : key, k.base);
      if (matches(os, false, t.pa, false, t.writable)) continue;
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
    auto dev = devs_.find(sid.v);
    if (dev == devs_.end() || dev->second.gone) continue;
    std::vector<Outcome> os = allowed(sid, k.pasid, k.base);
    if (matches(os, false, t.pa, false, t.writable)) continue;
    return stale(
        "device-TLB of " + sid.str() + " still translates iova " + hex(k.base) + " to " + hex(t.pa),
        {"devtlb: sid=" + sid.str() + " pasid=" + pasid_str(k.pasid) + " iova=" + hex(k.base) +
         " pa=" + hex(t.pa)},
        "devtlb");
  }
  if (outer_end && !caps_.coherent) {
    for (PhysAddr line : m_.mem.dirty_lines()) {
      if (!is_table_page(m_.mem.type(line))) continue;
      return stale(
          "a " + std::string(sim::page_type_name(m_.mem.type(line))) + " line at " + hex(line) +
              " was never written back: the non-coherent IOMMU still reads the old contents",
          {}, "cpu-cache");
    }
  }
}

// ------------------------------------------------------------- reports --

std::string Oracle::ring_text(const Ring& r) {
  HwEvent e = r.e;
  e.entry = r.has_entry ? &r.entry : nullptr;
  e.xlat = r.has_xlat ? &r.xlat : nullptr;
  return "[" + r.point + "] " + sim::describe(e);
}

void Oracle::fail(Property p, const std::string& what, std::vector<std::string> details,
                  const std::string& entry_kind, const std::string& point) {
  if (violated_) return;
  for (const Violation& x : pending_)
    if (x.property == p) return;  // the first finding of each property is kept
  Violation v;
  v.property = p;
  const InFlight* f = stack_.empty() ? nullptr : &stack_.front();
  v.op_index = f ? f->op_index : 0;
  v.op_text = f ? f->call.text : "";
  v.point = point;
  v.what = what;
  v.details = std::move(details);
  std::string op_kind = f ? f->call.name : "-";
  if (stack_.size() > 1) op_kind += "+cpu2-" + stack_.back().call.name;
  v.sig_text =
      std::string(property_name(p)) + " " + writer_name_ + " " + op_kind + " " + entry_kind;
  v.signature = fnv1a(v.sig_text);
  for (size_t i = 0; i < kRing; ++i) {
    const Ring& r = ring_[(ring_next_ + i) % kRing];
    if (ring_next_ + i < kRing) continue;  // slot never filled
    v.events.push_back(ring_text(r));
  }
  pending_.push_back(std::move(v));
  if (stack_.empty()) settle();
}

}  // namespace vtd::oracle

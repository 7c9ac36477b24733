// Live update's properties (DESIGN.md section 12), judged like the others
// from API calls, hardware events and reference reads of what the hardware
// can see (the model of model_lu.cc says what the calls mean):
//   P9  continuity: a preserved device's DMA (and, at every store and when
//       each op returns, a side-effect-free walk of its mapped IOVAs: the
//       oracle checks the entry at every sync, as arm-smmu-v3-test does)
//       gives its preserved domain's translation.
//   P10 preserved reachability: at the kexec every page reachable from a
//       preserved device is preserved; afterwards none is freed or
//       reallocated while that device still translates through it.
//   P11 DID reservation: a DID a preserved entry (or a cache line left at
//       the kexec) names is not found in another translation's entry or
//       fill until no entry names it and no line is tagged with it.
//   P12 isolation: after the kexec no entry or cache line of an
//       unpreserved device survives, and its DMA faults until attached.
#include <algorithm>
#include <set>

#include "oracle/oracle.h"
#include "simulator/walker.h"

namespace vtd::oracle {

using sim::Entry;
using sim::EntryKind;
using sim::Field;
using sim::hex;
using sim::PhysAddr;
using sim::Sid;

namespace {

// A whole walk of a request without PASID through memory only: a scratch
// walker with empty caches and no observer, the unit's root table and TE.
sim::Translation reference_walk(const sim::PhysMemory& mem, const sim::Iommu& iommu, Sid sid,
                                sim::Iova iova, std::vector<PhysAddr>* reads) {
  sim::Translation t;
  if (!iommu.translating()) {  // not remapped: the IOVA is the address
    t.pa = iova;
    t.writable = true;
    return t;
  }
  sim::Caches caches;
  caches.keep_nothing();
  sim::FaultLog faults;
  sim::HwContext hw;
  hw.cfg = &iommu.config();
  hw.mem = const_cast<sim::PhysMemory*>(&mem);  // the walker only reads memory
  hw.caches = &caches;
  hw.faults = &faults;
  hw.rtaddr = iommu.rtaddr();
  hw.reads = reads;
  sim::Walker walker(hw);
  sim::Walk w;
  walker.start(w, {sid, sim::kNoPasid, iova, sim::Access::Read});
  walker.run(w);
  return w.result();
}

// Every page a walk for `sid` can reach (VTD-REFERENCE.md formats), with
// what it is, as the hardware sees memory now.
class Reach {
 public:
  explicit Reach(const sim::PhysMemory& mem) : mem_(mem) {}
  std::vector<std::pair<PhysAddr, std::string>> pages;

  void device(uint64_t rtaddr, Sid sid) {
    const bool sm = rtaddr & sim::rtaddr::TTM_SCALABLE;
    const PhysAddr root = sim::page_of(rtaddr);
    if (!add(root, "root table")) return;
    const Entry r =
        read(sm ? EntryKind::ScalableRoot : EntryKind::LegacyRoot, root + 16ull * sid.bus());
    const bool upper = sm && sid.devfn() >= 128;
    if (!(sm ? r.get(upper ? Field::UP : Field::LP) : r.present())) return;
    const PhysAddr ct = sm ? r.get(upper ? Field::UCTP : Field::LCTP) : r.get(Field::CTP);
    const std::string who = " of " + sid.str();
    if (!add(ct, std::string(upper ? "upper " : "") + "context table" + who)) return;
    if (!sm) {
      const Entry c = read(EntryKind::LegacyContext, ct + 16ull * sid.devfn());
      if (c.present() && c.get(Field::TT) != sim::kTtPassThrough)
        ss(c.get(Field::SSPTPTR), uint8_t(c.get(Field::AW)), who);
      return;
    }
    const Entry c = read(EntryKind::ScalableContext, ct + 32ull * (sid.devfn() & 0x7f));
    if (!c.present()) return;
    const PhysAddr dir = c.get(Field::PASIDDIRPTR);
    if (!add(dir, "PASID directory" + who)) return;
    const uint64_t entries = std::min<uint64_t>(1ull << (c.get(Field::PDTS) + 7), 512);
    for (uint64_t i = 0; i < entries; ++i) {
      const Entry d = read(EntryKind::PasidDir, dir + 8 * i);
      if (!d.present()) continue;
      const PhysAddr table = d.get(Field::SMPTBLPTR);
      if (!add(table, "PASID table" + who)) continue;
      for (uint64_t j = 0; j < 64; ++j) {
        const Entry p = read(EntryKind::PasidEntry, table + 64 * j);
        if (!p.present()) continue;
        const uint64_t pgtt = p.get(Field::PGTT);
        if (pgtt == sim::kPgttFirst || pgtt == sim::kPgttNested)
          pt(p.get(Field::FSPTPTR), p.get(Field::FSPM) ? 5 : 4, true, "first-stage table" + who);
        if (pgtt == sim::kPgttSecond || pgtt == sim::kPgttNested)
          ss(p.get(Field::SSPTPTR), uint8_t(p.get(Field::AW)), who);
      }
    }
  }

 private:
  Entry read(EntryKind k, PhysAddr pa) const {
    Entry e(k);
    for (size_t i = 0; i < sim::format_of(k).fetch_words; ++i) e.w[i] = mem_.hw_load(pa + 8 * i);
    return e;
  }
  bool add(PhysAddr page, const std::string& what) {
    page = sim::page_of(page);
    if (!page || !seen_.insert(page).second || seen_.size() > 4096) return false;
    pages.push_back({page, what});
    return true;
  }
  void ss(PhysAddr root, uint8_t aw, const std::string& who) {
    sim::PagingMode mode;
    if (sim::ss_mode_for_aw(aw, &mode)) pt(root, mode.levels, false, "second-stage table" + who);
  }
  void pt(PhysAddr table, int level, bool fs, const std::string& what) {
    if (!add(table, what + " (level " + std::to_string(level) + ")") || level <= 1) return;
    for (uint64_t i = 0; i < 512; ++i) {
      const uint64_t pte = mem_.hw_load(table + 8 * i);
      const bool present = fs ? (pte & 1) : (pte & 3);
      if (!present || (level <= 3 && (pte & (1ull << 7)))) continue;  // not present, or PS
      pt(pte & 0x000ffffffffff000ull, level - 1, fs, what);
    }
  }
  const sim::PhysMemory& mem_;
  std::set<PhysAddr> seen_;
};

}  // namespace

// ------------------------------------------------------------------ P9 --

// The walks P9 asks for now: a few mapped IOVAs of each present preserved
// device that no op is moving, with what its preserved domain says.
void Oracle::continuity_view(ContinuityView* v) {
  v->rtaddr = m_.iommu.rtaddr();
  v->translating = m_.iommu.translating();
  v->walks.clear();
  for (auto& [sidv, dom] : model_.continuity()) {
    const Sid sid(sidv);
    if (model_.moving(sid, 0) || !m_.iommu.device_present(sid)) continue;
    auto d = model_.domains().find(dom);
    if (d == model_.domains().end()) continue;
    int n = 0;
    for (auto& [iova, map] : d->second.maps) {
      if (n++ == 4) break;                   // a few mapped IOVAs stand for the domain
      std::vector<Outcome>& os = outcomes_;  // reused: this runs at every point
      os.clear();
      model_.outcomes(dom, iova, &os);
      if (os.size() != 1 || os[0].fault) continue;  // a map or unmap in flight
      v->walks.push_back({sid.v, dom, iova, os[0].pa, os[0].writable});
    }
  }
}

void Oracle::check_continuity(const Where& point) {
  ContinuityView& now = continuity_now_;
  continuity_view(&now);
  if (continuity_.holds(now, m_.mem)) return;
  std::vector<PhysAddr>* reads = continuity_.start(m_.mem);
  for (const ContinuityView::Walk& w : now.walks) {
    const Sid sid(w.sid);
    const sim::Translation t = reference_walk(m_.mem, m_.iommu, sid, w.iova, reads);
    if (t.ok() && t.pa == w.pa && t.writable == w.writable) continue;
    fail(Property::P9,
         "preserved device " + sid.str() + " no longer translates iova " + hex(w.iova) +
             " through its preserved domain " + std::to_string(w.dom),
         {"walk: " +
              (t.ok() ? hex(t.pa) + (t.writable ? " rw" : " r")
                      : std::string("fault ") + sim::fault_reason_name(t.fault)) +
              (m_.iommu.translating() ? "" : " (translation disabled: GSTS.TES=0)"),
          "domain " + std::to_string(w.dom) + ": " + hex(w.pa) + (w.writable ? " rw" : " r"),
          "root table in use: " + hex(m_.iommu.rtaddr())},
         "continuity", point.index ? point.str() : std::string("end"));
    return;
  }
  continuity_.clean(&now);
}

// A DMA the model does not allow, of a device live update speaks for:
// P9 for a preserved device, P12 for one no kernel has attached since the
// kexec. False: an ordinary finding (P2, P8).
bool Oracle::lu_dma(const sim::HwEvent& e, const std::vector<std::string>& d) {
  const bool fault = e.fault != sim::FaultReason::None;
  if (e.pasid == sim::kNoPasid && model_.continuity(e.sid) && !model_.moving(e.sid, 0)) {
    fail(Property::P9,
         "preserved device " + e.sid.str() + ": DMA to iova " + hex(e.iova) + " gave " +
             (fault ? "a fault" : hex(e.addr)) + ", not its preserved domain's translation",
         d, "dma", here());
    return true;
  }
  uint32_t key = e.pasid == sim::kNoPasid ? 0 : e.pasid;
  if (model_.lu_phase() == LuPhase::Old || fault || model_.attached(e.sid, key) ||
      model_.moving(e.sid, key))
    return false;
  fail(Property::P12,
       "device " + e.sid.str() + ", which no kernel attached since the kexec, DMAed to " +
           hex(e.addr) + " (iova " + hex(e.iova) + ")",
       d, "dma", here());
  return true;
}

// ----------------------------------------------------------- the kexec --

// Called at the kexec, before the unpreserved pages go: P10's check, and
// what P11 and P12 judge the new kernel by.
void Oracle::kexec() {
  if (violated_) return;
  const uint64_t rt = m_.iommu.rtaddr();
  for (auto& [sidv, p] : model_.preserved_devices()) {
    Reach r(m_.mem);
    r.device(rt, Sid(sidv));
    auto& keep = reach_[sidv];
    for (auto& [page, what] : r.pages) {
      keep.push_back({page, m_.mem.generation(page)});
      if (m_.mem.preserved(page)) continue;
      fail(Property::P10,
           "at kexec the " + what + " at " + hex(page) +
               " is reachable from a preserved device but not preserved",
           {"page " + hex(page) + ": " + sim::page_type_name(m_.mem.type(page)) +
            ", freed at the kexec"},
           sim::page_type_name(m_.mem.type(page)), "kexec");
    }
    // P11: the DID its entry carries, and the translation it names.
    const Located loc = locate(m_.mem, rt, Sid(sidv), sim::kNoPasid);
    const Entry e = read_now(m_.mem, m_.config().scalable ? loc.pasid : loc.context);
    if (e.present() && e.has(Field::DID)) reserved_[uint16_t(e.get(Field::DID))] = source_of(e);
  }
  for (auto& [sidv, dev] : model_.devices())
    if (!model_.preserved_devices().count(sidv)) isolated_.insert(sidv);
  // The old driver's cache tags go with it; the new one tags what it
  // restores (driver/lu.cc) and attaches.
  dom_dids_.clear();
  tagged_.clear();
}

// ----------------------------------------------------------------- P11 --

// The translation an entry names, DID aside: its type and table (two
// entries sharing a DID must agree on them; spec 6.2.1 tags fills by DID).
Oracle::Reserved Oracle::source_of(const Entry& e) {
  Reserved r;
  r.known = true;
  if (e.kind == EntryKind::LegacyContext) {
    const bool pt = e.get(Field::TT) == sim::kTtPassThrough;
    r.pgtt = pt ? sim::kPgttPassThrough : sim::kPgttSecond;
    r.root = pt ? 0 : e.get(Field::SSPTPTR);
    return r;
  }
  r.pgtt = uint8_t(e.get(Field::PGTT));
  r.root = r.pgtt == sim::kPgttFirst || r.pgtt == sim::kPgttNested ? e.get(Field::FSPTPTR)
           : r.pgtt == sim::kPgttSecond                            ? e.get(Field::SSPTPTR)
                                                                   : 0;
  return r;
}

// Every present RID or PASID entry of a device any kernel knew, with its
// place (the entries P11 scans).
const std::vector<Oracle::Named>& Oracle::named_entries() const {
  std::vector<uint16_t>& sids = sids_;
  sids.assign(isolated_.begin(), isolated_.end());
  for (auto& [sidv, p] : model_.preserved_devices()) sids.push_back(sidv);
  std::vector<Named>& out = named_;
  out.clear();
  const uint64_t rt = m_.iommu.rtaddr();
  for (auto& [sidv, dev] : model_.devices()) {
    sids.push_back(sidv);
    for (auto& [key, dom] : dev.att)
      if (key) {
        const Entry e = read_now(m_.mem, locate(m_.mem, rt, Sid(sidv), key).pasid);
        if (e.present()) out.push_back({Sid(sidv), key, e});
      }
  }
  std::sort(sids.begin(), sids.end());
  sids.erase(std::unique(sids.begin(), sids.end()), sids.end());
  for (uint16_t sidv : sids) {
    const Located loc = locate(m_.mem, rt, Sid(sidv), sim::kNoPasid);
    const Entry e = read_now(m_.mem, m_.config().scalable ? loc.pasid : loc.context);
    if (e.present() && e.has(Field::DID)) out.push_back({Sid(sidv), 0, e});
  }
  return out;
}

void Oracle::check_dids(const std::string& point) {
  if (reserved_.empty()) return;
  for (const Named& n : named_entries()) {
    auto r = reserved_.find(uint16_t(n.entry.get(Field::DID)));
    if (r == reserved_.end()) continue;
    const Reserved got = source_of(n.entry);
    if (r->second.known && got.pgtt == r->second.pgtt && got.root == r->second.root) continue;
    fail(Property::P11,
         "DID " + std::to_string(r->first) +
             ", which a preserved entry or a cache line left at the kexec still names, is in "
             "the entry of " +
             n.sid.str() + " pasid " + std::to_string(n.key) + " for another translation",
         {"entry:     " + n.entry.str(),
          r->second.known ? "preserved: pgtt " + std::to_string(r->second.pgtt) + " table " +
                                hex(r->second.root)
                          : std::string("preserved: cache lines tagged with it, never flushed")},
         "did", point);
    return;
  }
}

// An invalidation may end a reservation: once no entry names the DID and
// no IOTLB or paging-structure line is tagged with it, it is the new
// kernel's to give.
void Oracle::release_dids() {
  if (reserved_.empty()) return;
  const sim::Caches& c = m_.iommu.caches();
  std::vector<uint16_t>& named = named_dids_;
  named.clear();
  for (const Named& n : named_entries()) named.push_back(uint16_t(n.entry.get(Field::DID)));
  for (auto& [k, t] : c.iotlb()) named.push_back(k.did);
  for (auto& [k, l] : c.psc()) named.push_back(k.did);
  std::sort(named.begin(), named.end());
  for (auto it = reserved_.begin(); it != reserved_.end();)
    it = std::binary_search(named.begin(), named.end(), it->first) ? std::next(it)
                                                                   : reserved_.erase(it);
}

void Oracle::lu_event(const sim::HwEvent& e) {
  if (reserved_.empty()) return;
  if (e.kind == sim::EventKind::CacheInval &&
      (e.cache == sim::CacheKind::Iotlb || e.cache == sim::CacheKind::Psc)) {
    release_dids();
    return;
  }
  if (e.kind != sim::EventKind::CacheFill || e.cache != sim::CacheKind::Iotlb || !e.xlat) return;
  auto r = reserved_.find(e.xlat->did);
  if (r == reserved_.end()) return;
  const PhysAddr root = r->second.root;
  if (r->second.known && e.xlat->root == root) return;
  fail(Property::P11,
       "IOTLB fill under DID " + std::to_string(e.xlat->did) + " from table " + hex(e.xlat->root) +
           ", while that DID is still reserved for " +
           (r->second.known ? "the preserved table " + hex(root) : std::string("stale lines")),
       {"fill by " + e.sid.str() + " pasid " + sim::pasid_str(e.pasid) + " iova " + hex(e.iova)},
       "iotlb", here());
}

// ------------------------------------------------------ when an op ends --

void Oracle::check_lu(const InFlight& f, bool outer, drv::Status st) {
  const bool kexec = outer && f.call.kind == prog::OpKind::Kexec && drv::ok(st);
  if (kexec) {
    // P12: nothing of an unpreserved device may outlive its kernel.
    const sim::Caches& c = m_.iommu.caches();
    for (uint16_t sidv : isolated_) {
      const Sid sid(sidv);
      const Located loc = locate(m_.mem, m_.iommu.rtaddr(), sid, sim::kNoPasid);
      const Entry ce = read_now(m_.mem, loc.context);
      std::string what;
      if (ce.present())
        what = "its context entry survived the kexec: " + ce.str();
      else if (auto l = c.ctx().find(sidv); l != c.ctx().end() && l->second.entry.present())
        what = "its context-cache line survived the kexec: " + l->second.entry.str();
      for (auto& [k, l] : c.pasid())
        if (what.empty() && k.first == sidv && l.entry.present())
          what = "its PASID-cache line (pasid " + std::to_string(k.second) +
                 ") survived the kexec: " + l.entry.str();
      for (auto& [k, t] : c.devtlb())
        if (what.empty() && k.sid == sidv)
          what = "its device-TLB still translates iova " + hex(k.base) + " to " + hex(t.pa);
      if (what.empty()) continue;
      fail(Property::P12, "unpreserved device " + sid.str() + ": " + what, {}, "isolation", "end");
      break;
    }
    // P11: a DID cached lines carry is the old kernel's until flushed.
    for (auto& [k, t] : c.iotlb()) reserved_.insert({k.did, Reserved{}});
    for (auto& [k, l] : c.psc()) reserved_.insert({k.did, Reserved{}});
  }
  if (!model_.continuity().empty()) check_continuity(Where{});
  if (model_.lu_phase() == LuPhase::Old) return;
  // P10 after the kexec: a preserved device's pages stay as they were.
  for (auto& [sidv, pages] : reach_) {
    if (!model_.continuity(Sid(sidv))) continue;
    for (auto& [page, gen] : pages) {
      const bool freed = m_.mem.type(page) == sim::PageType::Free;
      if (!freed && m_.mem.generation(page) == gen) continue;
      fail(Property::P10,
           "a page preserved device " + Sid(sidv).str() + " translates through was " +
               (freed ? "freed" : "reallocated") + " after the kexec: " + hex(page),
           {"page " + hex(page) + ": " + sim::page_type_name(m_.mem.type(page))},
           sim::page_type_name(m_.mem.type(page)), "end");
      return;
    }
  }
  check_dids("end");
}

}  // namespace vtd::oracle

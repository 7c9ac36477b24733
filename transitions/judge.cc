// The checker's rules (transitions.h), taken from the shared model
// (oracle/model.h: which configurations an entry may hold) and the
// descriptor reference (oracle/scope.h: which cached lines a flush drops).
#include <map>

#include "oracle/model.h"
#include "oracle/scope.h"
#include "transitions/internal.h"

namespace vtd::transitions::detail {

namespace {

// What a fetched entry value lets the hardware cache in its translation
// caches (spec 6.2.1; simulator/walker.cc): IOTLB and paging-structure
// lines tagged by DID (and PASID for first-stage and nested), nothing for
// pass-through; device-TLB lines in the device when the entry allows ATS
// (legacy TT=1; a PASID entry under a context entry with DTE=1: the
// checker's device has ATS). `source` is what the lines translate by: the
// entry's used fields but the tag and FPD.
struct Fills {
  bool iotlb = false;
  uint16_t did = 0;
  uint32_t pasid_tag = sim::kNoPasid;
  bool devtlb = false;
  Entry source;
  sim::PhysAddr root = 0;
  uint8_t pgtt = 0;
};

Fills fills_of(const Entry& e) {
  Fills f;
  if (!e.present() || sim::decode(e) != sim::FaultReason::None) return f;
  uint64_t pgtt;
  if (e.kind == EntryKind::LegacyContext) {
    pgtt = e.get(Field::TT) == sim::kTtPassThrough ? sim::kPgttPassThrough : sim::kPgttSecond;
    f.devtlb = e.get(Field::TT) == sim::kTtDevTlb;
  } else if (e.kind == EntryKind::PasidEntry) {
    pgtt = e.get(Field::PGTT);
    f.devtlb = true;
  } else {
    return f;  // a scalable context entry: its PASID entries translate
  }
  const bool fs = pgtt == sim::kPgttFirst || pgtt == sim::kPgttNested;
  f.iotlb = pgtt != sim::kPgttPassThrough;
  f.did = uint16_t(e.get(Field::DID));
  f.pasid_tag = fs ? kPasid : sim::kNoPasid;
  f.pgtt = uint8_t(pgtt);
  f.root = fs ? e.get(Field::FSPTPTR) : e.get(Field::SSPTPTR);
  f.source = sim::config_of(e);
  f.source.set(Field::DID, 0);
  f.source.set(Field::FPD, 0);
  return f;
}

// The line a fetched entry leaves in the context or PASID cache: a legacy
// context line carries its DID (0 when not present, CM=1), a scalable one
// none (the SID selects), a PASID line its DID and PASID.
oracle::CachedLine cached_line(const Entry& e) {
  oracle::CachedLine l{sim::CacheKind::Context, kSid.v};
  switch (e.kind) {
    case EntryKind::LegacyContext:
      l.did = did_of(e);
      break;
    case EntryKind::ScalableContext:
      break;
    default:
      l.cache = sim::CacheKind::Pasid;
      l.pasid = kPasid;
      l.did = uint16_t(e.get(Field::DID));
      l.present = e.present();
      break;
  }
  return l;
}

}  // namespace

Judge::Judge(const Spec& s, const Result& r) : s_(s), r_(r) {
  target_cfg_ = sim::config_of(s.target);
  both_present_ = s.old.present() && s.target.present();
  // A temporary DID is one the writer tagged on both sides (writer.h).
  std::map<uint16_t, int> sides;
  for (const Event& e : r.rec.events)
    if (e.kind == EvKind::TagAdd) sides[e.did] |= e.side == drv::Side::Old ? 1 : 2;
  for (auto [did, both] : sides)
    if (both == 3 && did != did_of(s.old) && did != did_of(s.target)) temporary_.push_back(did);
}

bool Judge::final_ok(const Entry& e) const {
  return sim::config_of(e) == target_cfg_;
}

// The first descriptor, from flush group `from_group` on, that removes the
// line (group, index in group); groups.size() when none does. Malformed
// descriptors remove nothing (the queue stops on them: IQE).
Judge::Pos Judge::removal(const oracle::CachedLine& line, bool scalable,
                          uint32_t from_group) const {
  const auto& groups = r_.rec.groups;
  for (uint32_t g = from_group; g < groups.size(); ++g)
    for (uint32_t i = 0; i < groups[g].size(); ++i)
      if (!oracle::malformed(groups[g][i], false) && oracle::removes(groups[g][i], scalable, line))
        return {g, i};
  return {uint32_t(groups.size()), 0};
}

bool Judge::covered(const Entry& e, uint32_t from_group) const {
  return removal(cached_line(e), e.kind != EntryKind::LegacyContext, from_group).group <
         r_.rec.groups.size();
}

void Judge::entry(const Entry& e, uint32_t k, const Report& report) {
  using oracle::Property;
  if (!e.present()) saw_not_present_ = true;
  const Entry both[] = {s_.old, s_.target};
  if (e.present() && !oracle::legal_entry(e, both, temporary_)) {
    if (!oracle::legal_configuration(e, both)) torn_ = true;
    report(Property::P1,
           "the hardware assembled an entry that is neither the old nor the new configuration" +
               std::string(oracle::legal_configuration(e, both)
                               ? " (the DID of one with the tables of the other)"
                               : ""));
  }
  // Spec 6.2.1: entries with the same DID must reference the same
  // translation structures. A DID belongs to the side whose entry carries
  // it (a temporary DID to both): fills under it from another table alias
  // that side's translations for every device sharing the DID (B5).
  const Fills fe = fills_of(e);
  if (fe.iotlb) {
    bool owned = false, match = false;
    for (const Entry& side : both) {
      const Fills fs = fills_of(side);
      const bool owner =
          side.present() && side.has(Field::DID) &&
          (uint16_t(side.get(Field::DID)) == fe.did ||
           std::find(temporary_.begin(), temporary_.end(), fe.did) != temporary_.end());
      owned |= owner;
      match |= owner && fs.iotlb && fs.root == fe.root && fs.pgtt == fe.pgtt;
    }
    if (owned && !match)
      report(Property::P5, "the hardware assembled DID " + std::to_string(fe.did) +
                               " with a table the side that owns the DID does not use");
  }
  if (!e.present() && both_present_ && r_.hitless_declared)
    report(Property::P3,
           "the writer declared this update hitless, but a fetch found the entry not present");
  // What the hardware may keep in its context/PASID cache (walker.cc:
  // entries that decode, and with CM=1 anything) must be dropped by an
  // invalidation the writer submits after the fetch completed.
  const uint32_t groups = uint32_t(r_.rec.groups.size());
  const std::string from = k < groups ? " (from flush group " + std::to_string(k + 1) + " on)" : "";
  const bool cacheable = s_.cm || sim::decode(e) == sim::FaultReason::None;
  if (cacheable && !final_ok(e) && !covered(e, k)) {
    const EntryKind kind = s_.kind();
    std::string tag = kind == EntryKind::PasidEntry
                          ? "PASID-cache (DID " + std::to_string(e.get(Field::DID)) + ")"
                      : kind == EntryKind::LegacyContext
                          ? "context-cache (DID " + std::to_string(did_of(e)) + ")"
                          : "context-cache";
    report(Property::P4,
           "a fetched entry the hardware may cache in its " + tag +
               " is dropped by no entry-cache invalidation submitted after the fetch" + from);
  }
  // The translations cached through the fetched value (spec 6.5.3.3: IOTLB,
  // then device-TLB): when update() returns, none the device can still
  // reach may translate by the old value. IOTLB and paging-structure lines
  // are reachable when the target uses their tag; device-TLB lines always
  // (the device looks them up before any entry), and they must go after
  // the IOTLB lines they would refill from (B13).
  const Fills ft = fills_of(s_.target);
  Pos iotlb_gone{0, 0};
  if (fe.iotlb && ft.iotlb && ft.did == fe.did && ft.pasid_tag == fe.pasid_tag &&
      !(ft.source == fe.source)) {
    const std::string tag =
        "(DID " + std::to_string(fe.did) + " pasid " + sim::pasid_str(fe.pasid_tag) + ")";
    iotlb_gone = removal({sim::CacheKind::Iotlb, 0, fe.pasid_tag, fe.did, 1, 0}, true, k);
    if (iotlb_gone.group >= groups)
      report(Property::P4,
             "IOTLB lines filled through a fetched entry " + tag +
                 " stay reachable under the target's tag with the old translation: no IOTLB "
                 "invalidation submitted after the fetch drops them" +
                 from);
    if (removal({sim::CacheKind::Psc, 0, fe.pasid_tag, fe.did, 1, 0}, true, k).group >= groups)
      report(Property::P4,
             "paging-structure cache lines filled through a fetched entry " + tag +
                 " stay reachable under the target's tag: no invalidation submitted after the "
                 "fetch drops them" +
                 from);
  }
  if (fe.devtlb && !(ft.devtlb && ft.source == fe.source)) {
    const Pos devtlb_gone =
        removal({sim::CacheKind::DevTlb, kSid.v, sim::kNoPasid, 0, 1, 0}, true, k);
    if (devtlb_gone.group >= groups)
      report(Property::P4,
             "device-TLB lines filled through a fetched entry stay in the device with the old "
             "translation: no device-TLB invalidation submitted after the fetch drops them" +
                 from);
    else if (devtlb_gone < iotlb_gone)
      report(Property::P4,
             "the device-TLB is invalidated before the IOTLB lines it refills from (flush group " +
                 std::to_string(devtlb_gone.group + 1) + ")");
  }
}

// Two observations are one finding when the rule judges them alike: P1
// by shape, P3 always (not present is not present), the rest by
// configuration (DID included).
bool same_kind(const Finding& f, Rule rule, oracle::Property p, const Entry& e) {
  if (f.rule != rule || (rule == Rule::Property && f.property != p)) return false;
  if (rule == Rule::Property && p == oracle::Property::P1)
    return oracle::shape(f.observed) == oracle::shape(e);
  if (rule == Rule::Property && p == oracle::Property::P3) return true;
  return sim::config_of(f.observed) == sim::config_of(e);
}

// Non-coherent: the contract asks for the target to be visible to the
// hardware when update() returns, so no store to the entry may follow the
// last clflush of its line (the oracle's end-of-op dirty-line rule).
void check_written_back(const Spec& s, Result& r) {
  if (s.coherent) return;
  const uint64_t bytes = 8ull * uint64_t(sim::format_of(s.kind()).words);
  int last_store = -1, last_flush = -1;
  for (size_t i = 0; i < r.rec.events.size(); ++i) {
    const Event& e = r.rec.events[i];
    if (e.kind == EvKind::Store) last_store = int(i);
    if (e.kind == EvKind::Clflush && e.pa < kEntryPa + bytes && kEntryPa < e.pa + e.len)
      last_flush = int(i);
  }
  if (last_store < 0 || last_flush > last_store) return;
  Finding f;
  f.rule = Rule::Final;
  f.what = "update() returned with the entry's cache line dirty: no clflush after its last store";
  f.observed = s.target;
  r.findings.push_back(std::move(f));
}

// The cache-tag contract (writer.h) and the rule behind it: while the entry
// carries a DID, an unmap on the domain must flush that DID, so the DID must
// be tagged from before the entry carries it until after it stopped.
void check_tags(const Spec& s, Result& r) {
  const Recording& rec = r.rec;
  const drv::Transition& t = rec.t;
  if (!t.changes_domain || !s.old.has(Field::DID)) return;
  auto finding = [&](const std::string& what, const Entry& e) {
    for (const Finding& f : r.findings)
      if (f.rule == Rule::Tags && f.what == what) return;
    Finding f;
    f.rule = Rule::Tags;
    f.what = what;
    f.observed = e;
    r.findings.push_back(std::move(f));
  };
  int adds = 0, removes = 0;
  std::map<uint16_t, int> tagged;
  if (t.old_did) tagged[t.old_did] = 1;
  Entry cur = s.old;
  uint32_t index = 0, group = 0;
  std::map<uint16_t, uint32_t> untagged_at;  // the old DID -> flush groups before its tag went
  const uint32_t old_tag = fills_of(s.old).pasid_tag;
  for (const Event& e : rec.events) {
    switch (e.kind) {
      case EvKind::Store: {
        ++index;
        int w = int((e.pa - kEntryPa) / 8);
        int n = e.store == StoreKind::Wide ? 2 : 1;
        for (int i = 0; i < n; ++i)
          if (w + i >= 0 && w + i < entry_words(cur.kind)) cur.w[size_t(w + i)] = e.v[i];
        uint16_t d = did_of(cur);
        if (d && tagged[d] <= 0)
          finding("store " + std::to_string(index) + " makes the entry carry DID " +
                      std::to_string(d) + " before that DID is tagged (tag_add)",
                  cur);
        break;
      }
      case EvKind::TagAdd:
        if (e.side == drv::Side::New && e.did == t.new_did) ++adds;
        if (++tagged[e.did] > 0) untagged_at.erase(e.did);
        break;
      case EvKind::TagRemove:
        if (e.side == drv::Side::Old && e.did == t.old_did) ++removes;
        if (--tagged[e.did] <= 0 && e.did && did_of(cur) == e.did)
          finding("the tag of DID " + std::to_string(e.did) +
                      " is removed while the entry still carries it",
                  cur);
        if (e.did == t.old_did && tagged[e.did] <= 0) untagged_at[e.did] = group;
        break;
      case EvKind::Group:
        // The tag tells an unmap which DIDs to flush: while a flush of what
        // the hardware cached under a DID is still to come, the hardware
        // may hold such lines, and an unmap racing the update must reach
        // them (seeds/000: "it can't be *after* the HW has been programmed").
        for (auto& [did, at] : untagged_at) {
          const oracle::CachedLine iotlb{sim::CacheKind::Iotlb, 0, old_tag, did, 1, 0};
          for (const Descriptor& d : rec.groups[e.group])
            if (!oracle::malformed(d, false) && oracle::removes(d, true, iotlb)) {
              finding("the tag of DID " + std::to_string(did) +
                          " is removed before the invalidation of what the hardware cached "
                          "under it (flush group " +
                          std::to_string(e.group + 1) + ")",
                      cur);
              break;
            }
        }
        ++group;
        break;
      default:
        break;
    }
  }
  if (adds != 1)
    finding("tag_add(New, " + std::to_string(t.new_did) + ") called " + std::to_string(adds) +
                " times (the contract: exactly once)",
            cur);
  if (removes != 1)
    finding("tag_remove(Old, " + std::to_string(t.old_did) + ") called " + std::to_string(removes) +
                " times (the contract: exactly once)",
            cur);
}

}  // namespace vtd::transitions::detail

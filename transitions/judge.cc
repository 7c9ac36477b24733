// The checker's rules (transitions.h), taken from the shared model
// (oracle/model.h: which configurations an entry may hold) and the
// descriptor reference (oracle/scope.h: which cached lines a flush drops).
#include <map>

#include "oracle/model.h"
#include "oracle/scope.h"
#include "transitions/internal.h"

namespace vtd::transitions::detail {

using sim::Descriptor;
using sim::Entry;
using sim::EntryKind;
using sim::Field;

namespace {

// How IOTLB fills through an entry are tagged (spec 6.2.1): 1 by DID
// (second-stage), 2 by DID and PASID (first-stage, nested), 0 none
// (pass-through). A torn DID pairing only aliases fills of one class.
int fill_class(const Entry& e) {
  if (e.kind == EntryKind::LegacyContext) return e.get(Field::TT) == sim::kTtPassThrough ? 0 : 1;
  switch (e.get(Field::PGTT)) {
    case sim::kPgttSecond:
      return 1;
    case sim::kPgttFirst:
    case sim::kPgttNested:
      return 2;
    default:
      return 0;
  }
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
}

bool Judge::final_ok(const Entry& e) const {
  return sim::config_of(e) == target_cfg_;
}

// Would an entry-cache invalidation submitted from flush group
// `from_group` on drop a cached copy of `e`? Malformed descriptors drop
// nothing (the queue stops on them: IQE).
bool Judge::covered(const Entry& e, uint32_t from_group) const {
  const oracle::CachedLine line = cached_line(e);
  const bool scalable = e.kind != EntryKind::LegacyContext;
  for (uint32_t g = from_group; g < r_.rec.groups.size(); ++g)
    for (const Descriptor& d : r_.rec.groups[g])
      if (!oracle::malformed(d, false) && oracle::removes(d, scalable, line)) return true;
  return false;
}

void Judge::entry(const Entry& e, uint32_t k, const Report& report) {
  using oracle::Property;
  if (!e.present()) saw_not_present_ = true;
  const Entry both[] = {s_.old, s_.target};
  if (e.present() && !oracle::legal_configuration(e, both)) {
    torn_ = true;
    report(Property::P1,
           "the hardware assembled an entry that is neither the old nor the new configuration");
  }
  // A DID tags the IOTLB, not the table (spec 6.2.1): an entry pairing
  // one side's translation with the other side's DID fills the IOTLB of
  // every device sharing that DID from the wrong table (B5).
  const Entry sh = oracle::shape(e), old_shape = oracle::shape(s_.old),
              new_shape = oracle::shape(s_.target);
  if (e.present() && both_present_ && e.has(Field::DID) && !(old_shape == new_shape) &&
      fill_class(s_.old) && fill_class(s_.old) == fill_class(s_.target)) {
    const uint64_t d = e.get(Field::DID), od = s_.old.get(Field::DID),
                   nd = s_.target.get(Field::DID);
    if (od != nd && sh == old_shape && d == nd)
      report(Property::P5,
             "the hardware assembled the old translation under the new DID " + std::to_string(nd));
    if (od != nd && sh == new_shape && d == od)
      report(Property::P5,
             "the hardware assembled the new translation under the old DID " + std::to_string(od));
  }
  if (!e.present() && both_present_ && r_.hitless_declared)
    report(Property::P3,
           "the writer declared this update hitless, but a fetch found the entry not present");
  // What the hardware may keep in its context/PASID cache (walker.cc:
  // entries that decode, and with CM=1 anything) must be dropped by an
  // invalidation the writer submits after the fetch completed.
  const bool cacheable = s_.cm || sim::decode(e) == sim::FaultReason::None;
  if (cacheable && !final_ok(e) && !covered(e, k)) {
    const EntryKind kind = s_.kind();
    std::string tag = kind == EntryKind::PasidEntry
                          ? "PASID-cache (DID " + std::to_string(e.get(Field::DID)) + ")"
                      : kind == EntryKind::LegacyContext
                          ? "context-cache (DID " + std::to_string(did_of(e)) + ")"
                          : "context-cache";
    const uint32_t groups = uint32_t(r_.rec.groups.size());
    report(Property::P4,
           "a fetched entry the hardware may cache in its " + tag +
               " is dropped by no entry-cache invalidation submitted after the fetch" +
               (k < groups ? " (from flush group " + std::to_string(k + 1) + " on)" : ""));
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
  uint32_t index = 0;
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
        ++tagged[e.did];
        break;
      case EvKind::TagRemove:
        if (e.side == drv::Side::Old && e.did == t.old_did) ++removes;
        if (--tagged[e.did] <= 0 && e.did && did_of(cur) == e.did)
          finding("the tag of DID " + std::to_string(e.did) +
                      " is removed while the entry still carries it",
                  cur);
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

// How the timeline names and colours what happened: lanes, the value a
// quantum read, the entry and fields a store changes, where a violation
// shows (tools/timeline_model.h).
#include <algorithm>
#include <map>
#include <set>

#include "oracle/properties.h"
#include "simulator/descriptors.h"
#include "simulator/formats.h"
#include "tools/timeline_model.h"

namespace vtd::tools::timeline {

using sim::EventKind;
using trace::Actor;
using trace::Event;
using trace::Kind;
using trace::Ref;

bool Lane::operator==(const Lane& o) const {
  return actor == o.actor && cpu == o.cpu && cache == o.cache && sid == o.sid;
}

const char* value_color(Value v) {
  static const char* const kColor[] = {"#b8b8b8", "#3b6fb6", "#2f9e44", "#e03131", "#f08c00"};
  return kColor[int(v)];
}

const char* value_name(Value v) {
  static const char* const kName[] = {"unchanged", "old", "new", "TORN", "interim"};
  return kName[int(v)];
}

// Lanes top to bottom: the CPUs, the queue they post to, the walker, the
// caches in the order a walk fills them, each device's DMA.
int rank(const Lane& l) {
  static const int kCache[] = {0, 1, 3, 2, 4};  // Context, Pasid, Iotlb, Psc, DevTlb
  switch (l.actor) {
    case Actor::Cpu:
      return l.cpu;
    case Actor::Queue:
      return 10;
    case Actor::Walker:
      return 20;
    case Actor::Cache:
      return 30 + kCache[int(l.cache)];
    case Actor::Dma:
      return 100 + l.sid.v;
  }
  return 0;
}

Lane lane_of(const Event& e) {
  Lane l;
  l.actor = e.actor;
  switch (e.actor) {
    case Actor::Cpu:
      l.cpu = e.cpu;
      l.name = "CPU " + std::to_string(e.cpu);
      l.sub = e.cpu ? "cpu2 ops" : "the op's stores";
      break;
    case Actor::Queue:
      l.name = "queue";
      l.sub = "invalidations";
      break;
    case Actor::Walker:
      l.name = "walker";
      l.sub = "quantum reads";
      break;
    case Actor::Cache: {
      static const char* const kName[] = {"context", "PASID", "IOTLB", "PSC", "device-TLB"};
      static const char* const kSub[] = {"cache", "cache", "", "paging-structure", "ATS"};
      l.cache = e.cache;
      l.name = kName[int(e.cache)];
      l.sub = kSub[int(e.cache)];
      break;
    }
    case Actor::Dma:
      l.sid = e.sid;
      l.name = "DMA";
      l.sub = e.sid.str();
      break;
  }
  return l;
}

Value combine(const std::vector<Value>& vs) {
  std::set<Value> s;
  for (Value v : vs)
    if (v != Value::Unchanged) s.insert(v);
  if (s.empty()) return Value::Unchanged;
  return s.size() == 1 ? *s.begin() : Value::Torn;
}

Value value_of(const Event& e) {
  std::vector<Value> w;
  for (int i = 0; i < e.words; ++i) {
    const bool was = e.v[i] == e.before[i], will = e.v[i] == e.after[i];
    w.push_back(was && will ? Value::Unchanged
                : will      ? Value::New
                : was       ? Value::Old
                            : Value::Neither);
  }
  return combine(w);
}

bool is_pte(sim::EntryKind k) {
  return k == sim::EntryKind::SsPte || k == sim::EntryKind::FsPte;
}

// The entry a page of this type holds (none for data, queues, free pages).
bool entry_kind_of(sim::PageType t, bool scalable, sim::EntryKind* k) {
  using sim::EntryKind;
  using sim::PageType;
  switch (t) {
    case PageType::Root:
      *k = scalable ? EntryKind::ScalableRoot : EntryKind::LegacyRoot;
      return true;
    case PageType::Context:
      *k = scalable ? EntryKind::ScalableContext : EntryKind::LegacyContext;
      return true;
    case PageType::PasidDir:
      *k = EntryKind::PasidDir;
      return true;
    case PageType::PasidTable:
      *k = EntryKind::PasidEntry;
      return true;
    case PageType::PageTable:
      *k = EntryKind::SsPte;
      return true;
    default:
      return false;
  }
}

std::string short_kind(sim::EntryKind k) {
  static const char* const kShort[] = {"root", "root", "ctx", "ctx", "dir", "pasid", "pte", "pte"};
  return kShort[int(k)];
}

// "s3 pasid#0 q1" and the fields the store changed ("FSPTPTR"), with the
// details for the tooltip.
void store_labels(const Event& e, const sim::Config& c, Mark& m) {
  m.label = "s" + std::to_string(e.index);
  sim::EntryKind k;
  if (!entry_kind_of(e.page, c.scalable, &k)) {
    m.label2 = sim::hex(e.v[0]);
    return;
  }
  const unsigned bytes = sim::format_of(k).words * 8u, qbytes = c.quantum_bits / 8u;
  const unsigned off = unsigned(e.addr % bytes);
  m.label += " " + short_kind(k) + "#" + std::to_string((e.addr & 0xfff) / bytes);
  std::string q;
  if (bytes > qbytes) q = "q" + std::to_string(off / qbytes);
  if (qbytes == 16 && e.words == 1)
    q += std::string(q.empty() ? "" : ".") + (off % 16 ? "hi" : "lo");
  if (!q.empty()) m.label += " " + q;
  if (is_pte(k)) {
    m.label2 = sim::hex(e.v[0]);
    return;
  }
  sim::Entry was(k), now(k);
  const unsigned w0 = off / 8;
  for (int i = 0; i < e.words; ++i) {
    was.w[w0 + i] = e.before[i];
    now.w[w0 + i] = e.v[i];
  }
  std::string fields, detail;
  for (const sim::FieldDef& d : sim::format_of(k).fields) {
    if (d.lsb / 64 < w0 || d.lsb / 64 >= w0 + e.words) continue;
    if (was.get(d.field) == now.get(d.field)) continue;
    fields += std::string(fields.empty() ? "" : " ") + sim::field_name(d.field);
    detail += std::string("\n  ") + sim::field_name(d.field) + ": " + sim::hex(was.get(d.field)) +
              " -> " + sim::hex(now.get(d.field));
  }
  m.label2 = fields.empty() ? "(no change)" : fields;
  m.title += "\n" + std::string(sim::entry_kind_name(k)) + " entry " +
             std::to_string((e.addr & 0xfff) / bytes) + (q.empty() ? "" : ", quantum " + q) +
             (fields.empty() ? ": the value it already held" : detail);
}

std::string hex_words(const uint64_t* v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " " : "") + sim::hex(v[i]);
  return s;
}

// The lanes a violation's entry kind (the signature's last word) points
// at when it is judged as the op returns.
bool end_lane(const std::string& sig, Lane* l) {
  const std::string kind = sig.substr(sig.rfind(' ') + 1);
  static const std::pair<const char*, sim::CacheKind> kCaches[] = {
      {"context", sim::CacheKind::Context},
      {"pasid", sim::CacheKind::Pasid},
      {"iotlb", sim::CacheKind::Iotlb},
      {"psc", sim::CacheKind::Psc},
      {"devtlb", sim::CacheKind::DevTlb}};
  for (auto& [name, cache] : kCaches)
    if (kind == name) {
      l->actor = Actor::Cache;
      l->cache = cache;
      return true;
    }
  return false;
}

// The hardware events that show each property's violation, most telling first.
std::vector<EventKind> culprits(const std::string& property) {
  static const std::map<std::string, std::vector<EventKind>> kTable = {
      {"P1", {EventKind::EntryFetched}},
      {"P2", {EventKind::Dma}},
      {"P3", {EventKind::Dma, EventKind::Fault}},
      {"P5", {EventKind::CacheFill}},
      {"P6", {EventKind::UnsafeRead}},
      {"P7", {EventKind::QueueError, EventKind::Descriptor}},
      {"P8", {EventKind::Dma}},
  };
  auto it = kTable.find(property);
  return it == kTable.end() ? std::vector<EventKind>{} : it->second;
}

}  // namespace vtd::tools::timeline

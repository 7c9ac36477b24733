#include "simulator/events.h"

#include <cinttypes>
#include <cstdio>

#include "simulator/descriptors.h"
#include "simulator/translation.h"

namespace vtd::sim {

const char* hazard_name(Hazard h) {
  static const char* const kNames[] = {"none", "freed-page", "wrong-type", "stale-line",
                                       "unpublished"};
  return kNames[size_t(h)];
}

const char* event_kind_name(EventKind k) {
  static const char* const kNames[] = {
      "read",  "unsafe-read", "entry",       "fill",      "hit", "evict",    "inval",
      "fault", "desc",        "queue-error", "wait-done", "dma", "writeback"};
  return kNames[size_t(k)];
}

std::string describe(const HwEvent& e) {
  std::string s = event_kind_name(e.kind);
  switch (e.kind) {
    case EventKind::Read:
      s +=
          std::string(" ") + entry_kind_name(e.entry_kind) + " @" + hex(e.addr) + " = " + hex(e.v0);
      if (e.entry_kind != EntryKind::SsPte && e.entry_kind != EntryKind::FsPte &&
          e.entry_kind != EntryKind::PasidDir)
        s += " " + hex(e.v1);
      break;
    case EventKind::EntryFetched:
      s += std::string(" ") + entry_kind_name(e.entry_kind) + " sid=" + e.sid.str() +
           " pasid=" + pasid_str(e.pasid) + ": " + (e.entry ? e.entry->str() : "");
      break;
    case EventKind::CacheFill:
    case EventKind::CacheHit:
    case EventKind::CacheInval:
    case EventKind::CacheEvict:
      s += std::string(" ") + cache_kind_name(e.cache);
      if (e.kind != EventKind::CacheInval &&
          (e.cache == CacheKind::Context || e.cache == CacheKind::Pasid ||
           e.cache == CacheKind::DevTlb))
        s += " sid=" + e.sid.str();
      if (e.cache != CacheKind::Context) s += " pasid=" + pasid_str(e.pasid);
      if (e.cache != CacheKind::DevTlb) s += " did=" + std::to_string(e.did);
      if (e.cache == CacheKind::Iotlb || e.cache == CacheKind::DevTlb || e.cache == CacheKind::Psc)
        s += " iova=" + hex(e.iova);
      if (e.xlat)
        s += " -> " + hex(e.xlat->pa) + (e.xlat->writable ? " rw" : " r") +
             " root=" + hex(e.xlat->root);
      if (e.entry) s += ": " + e.entry->str();
      if (e.kind == EventKind::CacheInval) s += " (" + std::to_string(e.count) + " lines)";
      break;
    case EventKind::Descriptor: {
      Descriptor d;
      d.w[0] = e.v0;
      d.w[1] = e.v1;
      s += " " + d.str();
      break;
    }
    case EventKind::Dma:
      s += " sid=" + e.sid.str() + " pasid=" + pasid_str(e.pasid) + " iova=" + hex(e.iova) +
           (e.access == Access::Write ? " write" : " read") + " -> " +
           (e.fault != FaultReason::None ? std::string(fault_reason_name(e.fault)) : hex(e.addr)) +
           (e.count ? " (device-TLB)" : "");
      break;
    case EventKind::Fault:
      s += std::string(" ") + fault_reason_name(e.fault) + " sid=" + e.sid.str() +
           " pasid=" + pasid_str(e.pasid) + " iova=" + hex(e.iova);
      break;
    case EventKind::UnsafeRead:
      s += std::string(" ") + hazard_name(e.hazard) + " " + page_type_name(e.page_type) + " @" +
           hex(e.addr);
      break;
    case EventKind::QueueError:
      s += e.v0 == 16 ? " IQE" : e.v0 == 64 ? " ITE" : " ICE";
      s += e.injected ? " (injected)" : "";
      break;
    case EventKind::WaitDone:
      s += " status @" + hex(e.addr) + " = " + std::to_string(e.v0);
      break;
    case EventKind::Writeback:
      s += " line @" + hex(e.addr);
      break;
  }
  return s;
}

}  // namespace vtd::sim

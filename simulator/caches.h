// Translation caches, tagged as spec 6.2.1 says (VTD-REFERENCE.md "Tagging"):
// the IOTLB is tagged by DID (+PASID for first-stage), never by source-id or
// by table root, which is what makes DID-sharing bugs visible.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>

#include "simulator/events.h"
#include "simulator/formats.h"
#include "simulator/translation.h"

namespace vtd::sim {

struct ContextLine {
  Entry entry;       // the context entry as fetched
  uint16_t did = 0;  // legacy: the entry's DID; scalable: 0 (no DID in the entry)
};

struct PasidLine {
  Entry entry;  // the PASID entry as fetched (not-present only with CM=1)
  uint16_t did = 0;
};

struct IotlbKey {
  uint16_t did;
  uint32_t pasid_tag;
  uint8_t level;
  Iova base;  // iova aligned to the page size
  auto operator<=>(const IotlbKey&) const = default;
};

struct PscKey {
  uint16_t did;
  uint32_t pasid_tag;
  uint8_t level;  // level of the table the cached pointer leads to
  Iova base;      // iova aligned to the span that table covers
  auto operator<=>(const PscKey&) const = default;
};

struct PscLine {
  PhysAddr table = 0;  // the next-level table
  PhysAddr root = 0;   // the walk's root (source, for the oracle)
  uint32_t gen = 0;    // the table page's allocation generation when cached
};

struct DevTlbKey {
  uint16_t sid;
  uint32_t pasid;  // kNoPasid for requests without PASID
  uint8_t level;
  Iova base;
  auto operator<=>(const DevTlbKey&) const = default;
};

// Address-range argument of page-selective invalidations.
struct AddrRange {
  Iova base = 0;
  uint64_t size = 0;  // 0: everything
  bool covers(Iova b, uint64_t span) const {
    return size == 0 || (b < base + size && base < b + span);
  }
};

class Caches {
 public:
  void set_observer(Observer* o) { obs_ = o; }
  // A scratch walk's caches (the oracle's reference walks) keep nothing:
  // every fill is dropped, so a walk reads memory only and allocates no line.
  void keep_nothing() { keep_ = false; }

  // Context cache (by source-id).
  const ContextLine* ctx_lookup(Sid sid);
  void ctx_fill(Sid sid, const Entry& e, uint16_t did);
  uint32_t ctx_inv_global();
  uint32_t ctx_inv_domain(uint16_t did);
  uint32_t ctx_inv_device(uint16_t did, Sid sid, uint8_t fm, bool match_did);

  // PASID cache (by source-id and PASID; invalidated by DID and PASID).
  const PasidLine* pasid_lookup(Sid sid, uint32_t pasid);
  void pasid_fill(Sid sid, uint32_t pasid, const Entry& e);
  uint32_t pasid_inv_global();
  uint32_t pasid_inv_domain(uint16_t did);
  uint32_t pasid_inv_pasid(uint16_t did, uint32_t pasid);

  // IOTLB and paging-structure caches.
  const Translation* iotlb_lookup(uint16_t did, uint32_t pasid_tag, Iova iova, Sid requester);
  void iotlb_fill(Iova iova, const Translation& t, Sid requester, uint32_t pasid);
  const PscLine* psc_lookup(uint16_t did, uint32_t pasid_tag, uint8_t level, Iova iova);
  void psc_fill(uint16_t did, uint32_t pasid_tag, uint8_t level, Iova iova, const PscLine& l);
  // `pasid` = kNoPasid matches any tag (type 2 descriptors); `leaf_only`
  // keeps the paging-structure caches (IH=1).
  uint32_t iotlb_inv(bool global, uint16_t did, uint32_t pasid, const AddrRange& r, bool leaf_only);

  // Device-TLB (in the device; only device-TLB descriptors reach it).
  const Translation* devtlb_lookup(Sid sid, uint32_t pasid, Iova iova);
  void devtlb_fill(Sid sid, uint32_t pasid, Iova iova, const Translation& t);
  // pasid = kNoPasid with all_pasids=false: entries without PASID only.
  uint32_t devtlb_inv(Sid sid, uint32_t pasid, bool all_pasids, const AddrRange& r);
  uint32_t devtlb_drop_device(Sid sid);  // the device went away

  // Schedule-chosen eviction of the index-th line of one cache.
  bool evict(CacheKind c, uint32_t index);
  size_t size(CacheKind c) const;

  // Read-only views (tests, the oracle's P4 check).
  const std::map<uint16_t, ContextLine>& ctx() const { return ctx_; }
  const std::map<std::pair<uint16_t, uint32_t>, PasidLine>& pasid() const { return pasid_; }
  const std::map<IotlbKey, Translation>& iotlb() const { return iotlb_; }
  const std::map<PscKey, PscLine>& psc() const { return psc_; }
  const std::map<DevTlbKey, Translation>& devtlb() const { return devtlb_; }

 private:
  void emit(EventKind k, CacheKind c, Sid sid, uint32_t pasid, uint16_t did, Iova iova,
            const Entry* e, const Translation* t, uint32_t count = 1);
  template <class Self, class F>
  static auto visit(Self& self, CacheKind c, F f);
  uint32_t inv_all(CacheKind c);

  Observer* obs_ = nullptr;
  bool keep_ = true;
  std::map<uint16_t, ContextLine> ctx_;
  std::map<std::pair<uint16_t, uint32_t>, PasidLine> pasid_;
  std::map<IotlbKey, Translation> iotlb_;
  std::map<PscKey, PscLine> psc_;
  std::map<DevTlbKey, Translation> devtlb_;
};

}  // namespace vtd::sim

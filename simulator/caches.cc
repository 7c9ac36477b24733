#include "simulator/caches.h"

#include <iterator>

namespace vtd::sim {

const char* cache_kind_name(CacheKind c) {
  static const char* const kNames[] = {"context", "pasid", "iotlb", "psc", "devtlb"};
  return kNames[size_t(c)];
}

void Caches::emit(EventKind k, CacheKind c, Sid sid, uint32_t pasid, uint16_t did, Iova iova,
                  const Entry* e, const Translation* t, uint32_t count) {
  if (!obs_) return;
  HwEvent ev;
  ev.kind = k;
  ev.cache = c;
  ev.sid = sid;
  ev.pasid = pasid;
  ev.did = did;
  ev.iova = iova;
  ev.entry = e;
  ev.xlat = t;
  ev.count = count;
  obs_->on_event(ev);
}

namespace {
template <class Map, class Pred>
uint32_t erase_matching(Map& m, Pred pred) {
  uint32_t n = 0;
  for (auto it = m.begin(); it != m.end();) {
    if (pred(it->first, it->second)) {
      it = m.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}
}  // namespace

// Calls f with the line map of cache c (every cache is a std::map).
template <class Self, class F>
auto Caches::visit(Self& self, CacheKind c, F f) {
  switch (c) {
    case CacheKind::Context:
      return f(self.ctx_);
    case CacheKind::Pasid:
      return f(self.pasid_);
    case CacheKind::Iotlb:
      return f(self.iotlb_);
    case CacheKind::Psc:
      return f(self.psc_);
    case CacheKind::DevTlb:
      return f(self.devtlb_);
    case CacheKind::kCount:
      break;
  }
  return decltype(f(self.ctx_)){};
}

// Drops every line of cache c (a global invalidation).
uint32_t Caches::inv_all(CacheKind c) {
  uint32_t n = visit(*this, c, [](auto& m) {
    uint32_t k = uint32_t(m.size());
    m.clear();
    return k;
  });
  emit(EventKind::CacheInval, c, Sid(), kNoPasid, 0, 0, nullptr, nullptr, n);
  return n;
}

// ---------------------------------------------------------- context cache

const ContextLine* Caches::ctx_lookup(Sid sid) {
  auto it = ctx_.find(sid.v);
  if (it == ctx_.end()) return nullptr;
  emit(EventKind::CacheHit, CacheKind::Context, sid, kNoPasid, it->second.did, 0, &it->second.entry,
       nullptr);
  return &it->second;
}

void Caches::ctx_fill(Sid sid, const Entry& e, uint16_t did) {
  if (!keep_) return;
  ContextLine& l = ctx_[sid.v];
  l.entry = e;
  l.did = did;
  emit(EventKind::CacheFill, CacheKind::Context, sid, kNoPasid, did, 0, &l.entry, nullptr);
}

uint32_t Caches::ctx_inv_global() {
  return inv_all(CacheKind::Context);
}

uint32_t Caches::ctx_inv_domain(uint16_t did) {
  uint32_t n = erase_matching(ctx_, [&](uint16_t, const ContextLine& l) { return l.did == did; });
  emit(EventKind::CacheInval, CacheKind::Context, Sid(), kNoPasid, did, 0, nullptr, nullptr, n);
  return n;
}

uint32_t Caches::ctx_inv_device(uint16_t did, Sid sid, uint8_t fm, bool match_did) {
  // FM masks the low function-number bits: 01b SID[2], 10b SID[2:1], 11b SID[2:0].
  uint16_t mask = uint16_t(((1u << fm) - 1) << (3 - fm));
  uint32_t n = erase_matching(ctx_, [&](uint16_t s, const ContextLine& l) {
    return (s & ~mask) == (sid.v & ~mask) && (!match_did || l.did == did);
  });
  emit(EventKind::CacheInval, CacheKind::Context, sid, kNoPasid, did, 0, nullptr, nullptr, n);
  return n;
}

// ------------------------------------------------------------ PASID cache

const PasidLine* Caches::pasid_lookup(Sid sid, uint32_t pasid) {
  auto it = pasid_.find({sid.v, pasid});
  if (it == pasid_.end()) return nullptr;
  emit(EventKind::CacheHit, CacheKind::Pasid, sid, pasid, it->second.did, 0, &it->second.entry,
       nullptr);
  return &it->second;
}

void Caches::pasid_fill(Sid sid, uint32_t pasid, const Entry& e) {
  if (!keep_) return;
  PasidLine& l = pasid_[{sid.v, pasid}];
  l.entry = e;
  l.did = uint16_t(e.get(Field::DID));
  emit(EventKind::CacheFill, CacheKind::Pasid, sid, pasid, l.did, 0, &l.entry, nullptr);
}

uint32_t Caches::pasid_inv_global() {
  return inv_all(CacheKind::Pasid);
}

uint32_t Caches::pasid_inv_domain(uint16_t did) {
  uint32_t n = erase_matching(pasid_, [&](auto&, const PasidLine& l) { return l.did == did; });
  emit(EventKind::CacheInval, CacheKind::Pasid, Sid(), kNoPasid, did, 0, nullptr, nullptr, n);
  return n;
}

uint32_t Caches::pasid_inv_pasid(uint16_t did, uint32_t pasid) {
  // A not-present line (cached only with CM=1) has no DID of its own: any
  // PASID-selective invalidation of its PASID drops it.
  uint32_t n =
      erase_matching(pasid_, [&](const std::pair<uint16_t, uint32_t>& k, const PasidLine& l) {
        return (l.did == did || !l.entry.present()) && k.second == pasid;
      });
  emit(EventKind::CacheInval, CacheKind::Pasid, Sid(), pasid, did, 0, nullptr, nullptr, n);
  return n;
}

// ------------------------------------------------- IOTLB and paging caches

const Translation* Caches::iotlb_lookup(uint16_t did, uint32_t pasid_tag, Iova iova,
                                        Sid requester) {
  for (uint8_t level = 1; level <= 3; ++level) {
    Iova base = iova & ~(level_span(level) - 1);
    auto it = iotlb_.find({did, pasid_tag, level, base});
    if (it == iotlb_.end()) continue;
    emit(EventKind::CacheHit, CacheKind::Iotlb, requester, pasid_tag, did, iova, nullptr,
         &it->second);
    return &it->second;
  }
  return nullptr;
}

void Caches::iotlb_fill(Iova iova, const Translation& t, Sid requester, uint32_t pasid) {
  if (!keep_) return;
  uint64_t span = level_span(t.level);
  Iova base = iova & ~(span - 1);
  Translation& slot = iotlb_[{t.did, t.pasid_tag, t.level, base}];
  slot = t;
  slot.pa = t.pa - (iova - base);  // cached per page: the page's base address
  slot.from_iotlb = true;
  emit(EventKind::CacheFill, CacheKind::Iotlb, requester, pasid, t.did, base, nullptr, &slot);
}

const PscLine* Caches::psc_lookup(uint16_t did, uint32_t pasid_tag, uint8_t level, Iova iova) {
  Iova base = iova & ~(level_span(level + 1) - 1);
  auto it = psc_.find({did, pasid_tag, level, base});
  if (it == psc_.end()) return nullptr;
  emit(EventKind::CacheHit, CacheKind::Psc, Sid(), pasid_tag, did, iova, nullptr, nullptr);
  return &it->second;
}

void Caches::psc_fill(uint16_t did, uint32_t pasid_tag, uint8_t level, Iova iova,
                      const PscLine& l) {
  if (!keep_) return;
  Iova base = iova & ~(level_span(level + 1) - 1);
  psc_[{did, pasid_tag, level, base}] = l;
  emit(EventKind::CacheFill, CacheKind::Psc, Sid(), pasid_tag, did, base, nullptr, nullptr);
}

uint32_t Caches::iotlb_inv(bool global, uint16_t did, uint32_t pasid, const AddrRange& r,
                           bool leaf_only) {
  uint32_t n = erase_matching(iotlb_, [&](const IotlbKey& k, const Translation&) {
    return global || (k.did == did && (pasid == kNoPasid || k.pasid_tag == pasid) &&
                      r.covers(k.base, level_span(k.level)));
  });
  if (obs_) {
    HwEvent e;
    e.kind = EventKind::CacheInval;
    e.cache = CacheKind::Iotlb;
    e.pasid = pasid;
    e.did = did;
    e.iova = r.base;
    e.v0 = r.size;  // 0: every address
    e.v1 = global;
    e.count = n;
    obs_->on_event(e);
  }
  if (leaf_only) return n;
  uint32_t m = erase_matching(psc_, [&](const PscKey& k, const PscLine&) {
    return global || (k.did == did && (pasid == kNoPasid || k.pasid_tag == pasid) &&
                      r.covers(k.base, level_span(k.level + 1)));
  });
  emit(EventKind::CacheInval, CacheKind::Psc, Sid(), pasid, did, r.base, nullptr, nullptr, m);
  return n + m;
}

// ------------------------------------------------------------- device-TLB

const Translation* Caches::devtlb_lookup(Sid sid, uint32_t pasid, Iova iova) {
  for (uint8_t level = 1; level <= 3; ++level) {
    Iova base = iova & ~(level_span(level) - 1);
    auto it = devtlb_.find({sid.v, pasid, level, base});
    if (it == devtlb_.end()) continue;
    emit(EventKind::CacheHit, CacheKind::DevTlb, sid, pasid, it->second.did, iova, nullptr,
         &it->second);
    return &it->second;
  }
  return nullptr;
}

void Caches::devtlb_fill(Sid sid, uint32_t pasid, Iova iova, const Translation& t) {
  if (!keep_) return;
  uint64_t span = level_span(t.level);
  Iova base = iova & ~(span - 1);
  Translation& slot = devtlb_[{sid.v, pasid, t.level, base}];
  slot = t;
  slot.pa = t.pa - (iova - base);
  emit(EventKind::CacheFill, CacheKind::DevTlb, sid, pasid, t.did, base, nullptr, &slot);
}

uint32_t Caches::devtlb_inv(Sid sid, uint32_t pasid, bool all_pasids, const AddrRange& r) {
  uint32_t n = erase_matching(devtlb_, [&](const DevTlbKey& k, const Translation&) {
    return k.sid == sid.v && (all_pasids || k.pasid == pasid) &&
           r.covers(k.base, level_span(k.level));
  });
  emit(EventKind::CacheInval, CacheKind::DevTlb, sid, pasid, 0, r.base, nullptr, nullptr, n);
  return n;
}

uint32_t Caches::devtlb_drop_device(Sid sid) {
  return erase_matching(devtlb_,
                        [&](const DevTlbKey& k, const Translation&) { return k.sid == sid.v; });
}

// ------------------------------------------------------- schedule eviction

size_t Caches::size(CacheKind c) const {
  return visit(*this, c, [](const auto& m) { return m.size(); });
}

namespace {
// What an eviction event names: the tag fields of the line (spec 6.2.1).
struct LineTag {
  Sid sid;
  uint32_t pasid = kNoPasid;
  uint16_t did = 0;
  Iova iova = 0;
  const Entry* entry = nullptr;
  const Translation* xlat = nullptr;
};
LineTag tag_of(const std::pair<const uint16_t, ContextLine>& l) {
  return {Sid(l.first), kNoPasid, l.second.did, 0, &l.second.entry, nullptr};
}
LineTag tag_of(const std::pair<const std::pair<uint16_t, uint32_t>, PasidLine>& l) {
  return {Sid(l.first.first), l.first.second, l.second.did, 0, &l.second.entry, nullptr};
}
LineTag tag_of(const std::pair<const IotlbKey, Translation>& l) {
  return {Sid(), l.first.pasid_tag, l.first.did, l.first.base, nullptr, &l.second};
}
LineTag tag_of(const std::pair<const PscKey, PscLine>& l) {
  return {Sid(), l.first.pasid_tag, l.first.did, l.first.base, nullptr, nullptr};
}
LineTag tag_of(const std::pair<const DevTlbKey, Translation>& l) {
  return {Sid(l.first.sid), l.first.pasid, 0, l.first.base, nullptr, &l.second};
}
}  // namespace

// The index-th line goes; the event names it (emitted before the erase, so
// the observer may read the line).
bool Caches::evict(CacheKind c, uint32_t index) {
  return visit(*this, c, [&](auto& m) {
    if (m.empty()) return false;
    auto it = m.begin();
    std::advance(it, long(index % m.size()));
    const LineTag t = tag_of(*it);
    emit(EventKind::CacheEvict, c, t.sid, t.pasid, t.did, t.iova, t.entry, t.xlat);
    m.erase(it);
    return true;
  });
}

}  // namespace vtd::sim

#include "driver/cache_tag.h"

#include <algorithm>

namespace vtd::drv {

using sim::Descriptor;
namespace desc = sim::desc;

bool CacheTags::remove(const CacheTag& t) {
  auto it = std::find(tags_.begin(), tags_.end(), t);
  if (it == tags_.end()) return false;
  tags_.erase(it);
  return true;
}

uint8_t address_mask(sim::Iova iova, uint64_t size, sim::Iova* base) {
  sim::Iova last = iova + (size ? size - 1 : 0);
  uint8_t am = 0;
  while (am < 52 && (iova >> (sim::kPageShift + am)) != (last >> (sim::kPageShift + am))) ++am;
  *base = iova & ~((sim::kPageSize << am) - 1);
  return am;
}

void CacheTags::flush_range(sim::Iova iova, uint64_t size,
                            const std::function<bool(sim::Sid)>& gone,
                            std::vector<Descriptor>* iotlb, std::vector<Descriptor>* devtlb) const {
  sim::Iova base;
  uint8_t am = address_mask(iova, size, &base);
  auto add = [](std::vector<Descriptor>* v, const Descriptor& d) {
    for (const Descriptor& x : *v)
      if (x.w == d.w) return;  // one descriptor per DID is enough
    v->push_back(d);
  };
  for (const CacheTag& t : tags_) {
    switch (t.kind) {
      case CacheTag::Kind::Iotlb:
        add(iotlb, t.first_stage ? desc::piotlb_page(t.did, t.pasid, base, am)
                                 : desc::iotlb_page(t.did, base, am));
        break;
      case CacheTag::Kind::NestingIotlb:
        add(iotlb, desc::iotlb_domain(t.did));
        break;
      case CacheTag::Kind::DevTlb:
        if (gone && gone(t.sid)) break;
        add(devtlb,
            t.pasid == 0 ? desc::devtlb(t.sid, base, am) : desc::pdevtlb(t.sid, t.pasid, base, am));
        break;
      case CacheTag::Kind::NestingDevTlb:
        if (gone && gone(t.sid)) break;
        add(devtlb, t.pasid == 0 ? desc::devtlb_all(t.sid) : desc::pdevtlb(t.sid, t.pasid, 0, 64));
        break;
    }
  }
}

}  // namespace vtd::drv

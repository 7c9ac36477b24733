#include "driver/invalidation.h"

#include "driver/writer.h"

namespace vtd::drv::inv {

using sim::Descriptor;
using sim::EntryKind;
using sim::Field;
namespace desc = sim::desc;

std::vector<Descriptor> entry_cache(EntryKind kind, sim::Sid sid, uint32_t pasid, uint16_t did) {
  switch (kind) {
    case EntryKind::LegacyContext:
      return {desc::context_device(did, sid)};
    case EntryKind::ScalableContext:
      return {desc::context_device(0, sid)};
    default:
      return {desc::pasid_cache_pasid(did, pasid)};
  }
}

std::vector<Descriptor> iotlb(const sim::Entry& e, uint32_t pasid) {
  if (!e.present()) return {};
  uint16_t did = uint16_t(e.get(Field::DID));
  if (e.kind == EntryKind::LegacyContext) return {desc::iotlb_domain(did)};
  if (e.kind != EntryKind::PasidEntry) return {};
  uint64_t pgtt = e.get(Field::PGTT);
  if (pgtt == sim::kPgttFirst || pgtt == sim::kPgttPassThrough)
    return {desc::piotlb_pasid(did, pasid)};
  return {desc::iotlb_domain(did)};
}

std::vector<Descriptor> devtlb(sim::Sid sid, uint32_t pasid, bool ats, bool gone) {
  if (!ats || gone) return {};
  if (pasid == kRidPasid || pasid == sim::kNoPasid) return {desc::devtlb_all(sid)};
  return {desc::pdevtlb(sid, pasid, 0, 64)};
}

}  // namespace vtd::drv::inv

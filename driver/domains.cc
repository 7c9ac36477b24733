// Domains: allocation (page tables; a nested domain's stage-1 tables are
// fixed at allocation), free, map and unmap (cache tags say what to flush).
#include "driver/driver_impl.h"
#include "simulator/registers.h"

namespace vtd::drv {

using sim::Descriptor;
using sim::PhysAddr;
using sim::Sid;

Status Driver::domain_alloc(DomainId id, DomainType type, DomainId parent, int levels) {
  begin_call();
  if (id == 0 || type >= DomainType::kCount) return Status::Inval;
  if (domains_.count(id)) return Status::Exist;
  if (levels < 3 || levels > 5 || (levels == 5 && !five_level_)) return Status::Inval;
  Domain* par = nullptr;
  if (type == DomainType::Nested) {
    par = domain(parent);
    if (!par || par->type != DomainType::SecondStage) return Status::Inval;
  }
  if (!caps_.scalable && type != DomainType::SecondStage && type != DomainType::Identity &&
      type != DomainType::Blocking)
    return Status::Inval;
  if ((type == DomainType::FirstStage || type == DomainType::Sva || type == DomainType::Nested) &&
      levels == 3)
    return Status::Inval;
  if (!translation_supported(type)) return Status::Inval;
  if (!may_alloc()) return Status::NoMem;  // the dmar_domain
  auto d = std::make_unique<Domain>();
  d->id = id;
  d->type = type;
  Ctx ctx(*this);
  if (type != DomainType::Identity && type != DomainType::Blocking) {
    bool fs = type != DomainType::SecondStage;
    d->pt.emplace(fs, type == DomainType::Nested ? 4 : levels);
    if (!ok(d->pt->init(ctx))) return Status::NoMem;
    if (type == DomainType::Nested && !ok(d->pt->prealloc(ctx, kNestedIovaLimit))) {
      d->pt->destroy(ctx);
      return Status::NoMem;
    }
  }
  if (type == DomainType::Nested) {
    d->parent = parent;
    ++par->children;
  }
  if (type == DomainType::Sva) d->sva_pasid = next_sva_pasid_++;
  domains_[id] = std::move(d);
  return Status::Ok;
}

// In scalable mode a domain needs the unit to translate its way (ECAP
// SSTS, FLTS, NEST, PT): a virtual unit may offer first-stage only
// (seeds/003: QEMU's accelerated intel_iommu with x-flts=on).
bool Driver::translation_supported(DomainType type) const {
  if (!caps_.scalable) return true;
  switch (type) {
    case DomainType::SecondStage:
      return ecap_ & sim::ecap::SSTS;
    case DomainType::FirstStage:
    case DomainType::Sva:
      return ecap_ & sim::ecap::FLTS;
    case DomainType::Nested:
      return (ecap_ & sim::ecap::NEST) && (ecap_ & sim::ecap::FLTS) && (ecap_ & sim::ecap::SSTS);
    case DomainType::Identity:
      return ecap_ & sim::ecap::PT;
    default:
      return true;
  }
}

Status Driver::domain_alloc_nested(DomainId id, DomainId parent, const S1Config& s1) {
  begin_call();
  if (id == 0) return Status::Inval;
  if (domains_.count(id)) return Status::Exist;
  if (!translation_supported(DomainType::Nested)) return Status::OpNotSupp;
  if (s1.flags & ~(kS1Sre | kS1Eafe | kS1Wpe)) return Status::OpNotSupp;
  Domain* par = domain(parent);
  if (!par || par->type != DomainType::SecondStage) return Status::Inval;
  if (s1.fsptptr >> kPhysAddrBits) return Status::Inval;
  if (!may_alloc()) return Status::NoMem;  // the dmar_domain
  auto d = std::make_unique<Domain>();
  d->id = id;
  d->type = DomainType::Nested;
  d->parent = parent;
  d->user_s1 = true;
  d->s1 = s1;
  d->s1.fsptptr &= ~(sim::kPageSize - 1);  // the PASID entry holds FSPTPTR 63:12
  ++par->children;
  domains_[id] = std::move(d);
  return Status::Ok;
}

Status Driver::cache_invalidate_user(DomainId id, sim::Iova iova, uint64_t size) {
  begin_call();
  Domain* d = domain(id);
  if (!d) return Status::NoDev;
  if (!d->user_s1) return Status::Inval;
  std::vector<Descriptor> iotlb, devtlb;
  cpu_->lock(lock_id(LockClass::Cache, id));
  d->tags.flush_range(
      size ? iova : 0, size ? size : 1ull << 57,
      [this](Sid s) {
        Device* dv = device(s);
        return !dv || dv->gone;
      },
      &iotlb, &devtlb);
  cpu_->unlock(lock_id(LockClass::Cache, id));
  iotlb.insert(iotlb.end(), devtlb.begin(), devtlb.end());  // IOTLB before device-TLB
  if (iotlb.empty()) return Status::Ok;
  return qi_.submit(*cpu_, iotlb);
}

Status Driver::domain_free(DomainId id) {
  begin_call();
  Domain* d = domain(id);
  if (!d) return Status::NoDev;
  // Live update: a preserved domain's tables belong to the next kernel, a
  // restored one's to the devices still to be probed.
  if (d->users || d->children || d->preserved || d->waiting) return Status::Busy;
  Ctx ctx(*this);
  if (d->pt) d->pt->destroy(ctx);
  if (d->type == DomainType::Nested)
    if (Domain* p = domain(d->parent)) --p->children;
  domains_.erase(id);
  return Status::Ok;
}

Status Driver::map(DomainId id, sim::Iova iova, PhysAddr pa, uint64_t size, uint8_t perm) {
  begin_call();
  Domain* d = domain(id);
  if (!d) return Status::NoDev;
  if (!d->pt) return Status::Inval;
  if (frozen(*d)) return Status::Busy;
  if (pa >> kPhysAddrBits) return Status::Inval;  // beyond what a PTE can hold (ADDR 51:12)
  if (d->type == DomainType::Nested && (size != sim::kPageSize || iova >= kNestedIovaLimit))
    return Status::Inval;
  Ctx ctx(*this);
  cpu_->lock(lock_id(LockClass::Pgtable, id));
  Status s = d->pt->map(ctx, iova, pa, size, perm & (kRead | kWrite));
  if (ok(s) && caps_.cm) {
    // Caching mode: the hardware may have cached the not-present PTE.
    std::vector<Descriptor> iotlb, devtlb;
    d->tags.flush_range(iova, size, nullptr, &iotlb, &devtlb);
    qi_.submit(*cpu_, iotlb);
  }
  cpu_->unlock(lock_id(LockClass::Pgtable, id));
  return s;
}

Status Driver::unmap(DomainId id, sim::Iova iova, uint64_t size) {
  begin_call();
  Domain* d = domain(id);
  if (!d) return Status::NoDev;
  if (!d->pt || size == 0) return Status::Inval;
  if (frozen(*d)) return Status::Busy;
  Ctx ctx(*this);
  cpu_->lock(lock_id(LockClass::Pgtable, id));
  PageTable::Unmapped u = d->pt->unmap(ctx, iova, size, d->type == DomainType::Nested);
  if (u.hi > u.lo) {
    UnmapFlush f;
    cpu_->lock(lock_id(LockClass::Cache, id));
    d->tags.flush_range(
        u.lo, u.hi - u.lo,
        [this](Sid s) {
          Device* dv = device(s);
          return !dv || dv->gone;
        },
        &f.iotlb, &f.devtlb);
    f.free_pages = std::move(u.empty_tables);
    writer_.unmap_flush(ctx, f);
    cpu_->unlock(lock_id(LockClass::Cache, id));
  }
  cpu_->unlock(lock_id(LockClass::Pgtable, id));
  return Status::Ok;
}

}  // namespace vtd::drv

// Driver: initialisation, the per-call allocation points, lookups and the
// public facts. The calls themselves are in devices.cc, domains.cc and
// attach.cc (driver_impl.h lists the files).
#include <cstdio>

#include "driver/driver_impl.h"
#include "simulator/registers.h"

namespace vtd::drv {

using sim::PageType;
using sim::PhysAddr;
using sim::Sid;

const char* domain_type_name(DomainType t) {
  static const char* const kNames[] = {"second-stage", "first-stage", "nested",
                                       "identity",     "blocking",    "sva"};
  return kNames[size_t(t)];
}

Driver::Driver(sim::CpuMemory& cpu, Writer& writer, LuFlow* flow)
    : cpu_(&cpu), writer_(writer), flow_(flow) {}
Driver::~Driver() = default;

void Driver::read_caps() {
  uint64_t cap = cpu_->mmio_read(sim::Reg::CAP);
  uint64_t ecap = cpu_->mmio_read(sim::Reg::ECAP);
  ecap_ = ecap;
  caps_.scalable = ecap & sim::ecap::SMTS;
  caps_.coherent = ecap & sim::ecap::C;
  caps_.cm = cap & sim::cap::CM;
  caps_.cpu128 = cpu_->has_write128();
  caps_.fetch128 = !(cap & sim::cap::MODEL_FETCH64);
  five_level_ = cap & sim::cap::SAGAW_57;
}

Status Driver::init() {
  read_caps();
  if (!writer_.supports(caps_)) return Status::NoDev;
  root_ = cpu_->alloc_page(PageType::Root);
  if (!root_) return Status::NoMem;
  flush_cpu_cache(root_, sim::kPageSize);
  // Scalable mode uses 256-bit descriptors, as Linux does (IQA.DW).
  Status s = qi_.init(*cpu_, caps_.scalable, lock_id(LockClass::Qi));
  if (!ok(s)) return s;
  global_command(sim::gcmd::QIE, true);
  cpu_->mmio_write(sim::Reg::RTADDR, root_ | (caps_.scalable ? sim::rtaddr::TTM_SCALABLE : 0));
  cpu_->mmio_write(sim::Reg::GCMD, gcmd_ | sim::gcmd::SRTP);  // latch the root table
  global_command(sim::gcmd::TE, true);
  return Status::Ok;
}

// GCMD states TE and QIE on every write (spec 11.4.4): the driver keeps
// their shadow, as Linux's iommu->gcmd. The model's unit completes a
// command at once, so there is no GSTS to wait for.
void Driver::global_command(uint64_t bit, bool on) {
  gcmd_ = on ? gcmd_ | bit : gcmd_ & ~bit;
  cpu_->mmio_write(sim::Reg::GCMD, gcmd_);
}

Status Driver::begin_call() {
  // Per CPU: a nested call on the second CPU must not disturb the count of
  // the call it interrupted.
  CallState& c = calls_[cpu_->id() & 1];
  c.allocs = 0;
  c.fail_nth = fail_nth_;
  fail_nth_ = 0;
  return Status::Ok;
}

bool Driver::may_alloc() {
  CallState& c = calls_[cpu_->id() & 1];
  return ++c.allocs != c.fail_nth;
}

PhysAddr Driver::alloc_page(PageType t) {
  if (!may_alloc()) return 0;
  return cpu_->alloc_page(t);
}

void Driver::flush_cpu_cache(PhysAddr pa, size_t len) {
  if (!caps_.coherent) cpu_->clflush(pa, len);
}

Driver::Domain* Driver::domain(DomainId id) {
  auto it = domains_.find(id);
  return it == domains_.end() ? nullptr : it->second.get();
}
const Driver::Domain* Driver::domain(DomainId id) const {
  auto it = domains_.find(id);
  return it == domains_.end() ? nullptr : it->second.get();
}
Driver::Device* Driver::device(Sid sid) {
  auto it = devices_.find(sid.v);
  return it == devices_.end() ? nullptr : it->second.get();
}
bool Driver::has_device(Sid sid) const {
  return devices_.count(sid.v) != 0;
}

uint32_t Driver::sva_pasid(DomainId id) const {
  const Domain* d = domain(id);
  return d ? d->sva_pasid : 0;
}
uint16_t Driver::did_of(DomainId id) const {
  const Domain* d = domain(id);
  return d ? d->did : 0;
}

std::vector<PhysAddr> Driver::guest_table_pages(DomainId id) const {
  const Domain* d = domain(id);
  if (!d || d->type != DomainType::Nested || !d->pt) return {};
  return d->pt->pages();
}

std::vector<sim::LockId> Driver::locks_for_map(DomainId id) const {
  return {lock_id(LockClass::Pgtable, id), lock_id(LockClass::Cache, id), lock_id(LockClass::Qi)};
}

std::vector<sim::LockId> Driver::locks_for_attach(Sid sid, DomainId id) const {
  std::vector<sim::LockId> v = {lock_id(LockClass::Group, sid.v), lock_id(LockClass::Iommu),
                                lock_id(LockClass::Cache, id), lock_id(LockClass::Qi)};
  auto it = devices_.find(sid.v);
  if (it != devices_.end())
    for (auto& [pasid, dom] : it->second->att) v.push_back(lock_id(LockClass::Cache, dom));
  return v;
}

std::string Driver::dump() const {
  std::string s;
  char buf[200];
  for (auto& [id, d] : domains_) {
    snprintf(buf, sizeof buf,
             "domain %u %s parent=%u did=%u users=%u children=%u tags=%zu pages=%zu%s\n", id,
             domain_type_name(d->type), d->parent, d->did, d->users, d->children,
             d->tags.all().size(), d->pt ? d->pt->pages().size() : 0,
             d->preserved  ? " preserved"
             : d->restored ? " restored"
                           : "");
    s += buf;
  }
  for (auto& [v, d] : devices_) {
    snprintf(buf, sizeof buf,
             "device %s gone=%d vfs=%zu ctx=%d tables=%zu%s att=", d->sid.str().c_str(), d->gone,
             d->vfs.size(), d->ctx_live, d->pasid_tables.size(), d->preserved ? " preserved" : "");
    s += buf;
    for (auto& [p, dom] : d->att) s += std::to_string(p) + ":" + std::to_string(dom) + " ";
    s += "\n";
  }
  snprintf(buf, sizeof buf, "dids %zu ctx-tables %zu\n", dids_.in_use(), context_tables_.size());
  return s + buf;
}

}  // namespace vtd::drv

#include "driver/driver.h"

#include <algorithm>
#include <cstdio>

#include "driver/invalidation.h"
#include "simulator/registers.h"

namespace vtd::drv {

using sim::Descriptor;
using sim::Entry;
using sim::EntryKind;
using sim::Field;
using sim::PageType;
using sim::PhysAddr;
using sim::Sid;
namespace desc = sim::desc;

const char* domain_type_name(DomainType t) {
  static const char* const kNames[] = {"second-stage", "first-stage", "nested",
                                       "identity",     "blocking",    "sva"};
  return kNames[size_t(t)];
}

// ------------------------------------------------------------ state --

struct Driver::Domain {
  DomainId id = 0;
  DomainType type = DomainType::SecondStage;
  DomainId parent = 0;
  std::unique_ptr<PageTable> pt;
  uint16_t did = 0;    // allocated at the first attachment (fixed for identity/SVA)
  uint32_t users = 0;  // attachments (device RIDs and PASIDs)
  uint32_t children = 0;
  uint32_t sva_pasid = 0;
  CacheTags tags;
  bool first_stage() const {
    return type == DomainType::FirstStage || type == DomainType::Nested || type == DomainType::Sva;
  }
  bool fixed_did() const { return type == DomainType::Identity || type == DomainType::Sva; }
};

struct Driver::Device {
  Sid sid;
  DeviceCaps caps;
  bool gone = false;  // surprise-removed: no device-TLB invalidation reaches it
  bool vf = false;
  std::vector<Sid> vfs;
  PhysAddr pasid_dir = 0;
  std::map<uint32_t, PhysAddr> pasid_tables;  // directory index -> PASID table
  bool ctx_live = false;                      // scalable: context entry present
  std::map<uint32_t, DomainId> att;           // PASID (kRidPasid: the RID) -> domain
};

// Services for one call: the WriterCtx of each transition and the TableOps
// of the page tables.
class Driver::Ctx final : public WriterCtx, public TableOps {
 public:
  explicit Ctx(Driver& d) : d_(d) {}
  ~Ctx() override {
    if (spare_) d_.dids_.free(spare_);
  }

  // Reserves the call's temporary DID (an allocation point), once per call.
  bool reserve_spare() {
    if (spare_) return true;
    if (!d_.may_alloc()) return false;
    spare_ = d_.dids_.alloc();
    return spare_ != 0;
  }

  Device* dev = nullptr;
  EntryRef at;
  Domain* from = nullptr;
  Domain* to = nullptr;

  // WriterCtx
  sim::CpuMemory& cpu() override { return *d_.cpu_; }
  const Caps& caps() const override { return d_.caps_; }
  void lock() override { cpu().lock(lock_id(LockClass::Iommu)); }
  void unlock() override { cpu().unlock(lock_id(LockClass::Iommu)); }
  void flush_cpu_cache(PhysAddr pa, size_t len) override { d_.flush_cpu_cache(pa, len); }

  std::vector<Descriptor> inv_entry_cache(uint16_t did) override {
    return inv::entry_cache(at.kind, at.sid, at.pasid, did);
  }
  std::vector<Descriptor> inv_iotlb(const Entry& e) override { return inv::iotlb(e, at.pasid); }
  std::vector<Descriptor> inv_devtlb() override {
    if (!dev) return {};
    return inv::devtlb(at.sid, at.pasid, dev->caps.ats, dev->gone);
  }

  Status submit(const std::vector<Descriptor>& batch) override {
    return d_.qi_.submit(cpu(), batch);
  }

  void tag_add(Side s, uint16_t did) override { tags(s, did, true); }
  void tag_remove(Side s, uint16_t did) override { tags(s, did, false); }

  uint16_t alloc_did() override {
    if (!spare_ || taken_) return 0;
    taken_ = true;
    return spare_;
  }
  void free_did(uint16_t did) override {
    if (did == spare_)
      taken_ = false;
    else
      d_.dids_.free(did);
  }
  void free_page(PhysAddr pa) override { cpu().free_page(pa); }

  // TableOps
  PhysAddr alloc_table() override { return d_.alloc_page(PageType::PageTable); }
  void free_table(PhysAddr pa) override { cpu().free_page(pa); }
  void publish(PhysAddr slot, uint64_t value) override {
    d_.writer_.publish_table(*this, slot, value);
  }

 private:
  void tags(Side s, uint16_t did, bool add) {
    Domain* dom = s == Side::Old ? from : to;
    if (!dom || !did || !dom->pt || !dev) return;
    uint32_t pasid = at.pasid == sim::kNoPasid ? kRidPasid : at.pasid;
    auto edit = [&](Domain& where, const CacheTag& t) {
      cpu().lock(lock_id(LockClass::Cache, where.id));
      if (add)
        where.tags.add(t);
      else
        where.tags.remove(t);
      cpu().unlock(lock_id(LockClass::Cache, where.id));
    };
    edit(*dom, {CacheTag::Kind::Iotlb, did, dev->sid, pasid, dom->first_stage()});
    if (dev->caps.ats) edit(*dom, {CacheTag::Kind::DevTlb, 0, dev->sid, pasid, false});
    if (dom->type == DomainType::Nested) {
      // An unmap on the parent changes what nested translations give.
      Domain* parent = d_.domain(dom->parent);
      if (!parent) return;
      edit(*parent, {CacheTag::Kind::NestingIotlb, did, dev->sid, pasid, true});
      if (dev->caps.ats) edit(*parent, {CacheTag::Kind::NestingDevTlb, 0, dev->sid, pasid, false});
    }
  }

  Driver& d_;
  uint16_t spare_ = 0;
  bool taken_ = false;
};

// ---------------------------------------------------------- basics --

Driver::Driver(sim::CpuMemory& cpu, Writer& writer) : cpu_(&cpu), writer_(writer) {}
Driver::~Driver() = default;

Status Driver::init() {
  uint64_t cap = cpu_->mmio_read(sim::Reg::CAP);
  uint64_t ecap = cpu_->mmio_read(sim::Reg::ECAP);
  caps_.scalable = ecap & sim::ecap::SMTS;
  caps_.coherent = ecap & sim::ecap::C;
  caps_.cm = cap & sim::cap::CM;
  caps_.cpu128 = cpu_->has_write128();
  caps_.fetch128 = !(cap & sim::cap::MODEL_FETCH64);
  five_level_ = cap & sim::cap::SAGAW_57;
  if (!writer_.supports(caps_)) return Status::NoDev;
  root_ = cpu_->alloc_page(PageType::Root);
  if (!root_) return Status::NoMem;
  flush_cpu_cache(root_, sim::kPageSize);
  // Scalable mode uses 256-bit descriptors, as Linux does (IQA.DW).
  Status s = qi_.init(*cpu_, caps_.scalable, lock_id(LockClass::Qi));
  if (!ok(s)) return s;
  cpu_->mmio_write(sim::Reg::RTADDR, root_ | (caps_.scalable ? sim::rtaddr::TTM_SCALABLE : 0));
  return Status::Ok;
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
             "domain %u %s parent=%u did=%u users=%u children=%u tags=%zu pages=%zu\n", id,
             domain_type_name(d->type), d->parent, d->did, d->users, d->children,
             d->tags.all().size(), d->pt ? d->pt->pages().size() : 0);
    s += buf;
  }
  for (auto& [v, d] : devices_) {
    snprintf(buf, sizeof buf,
             "device %s gone=%d vfs=%zu ctx=%d tables=%zu att=", d->sid.str().c_str(), d->gone,
             d->vfs.size(), d->ctx_live, d->pasid_tables.size());
    s += buf;
    for (auto& [p, dom] : d->att) s += std::to_string(p) + ":" + std::to_string(dom) + " ";
    s += "\n";
  }
  snprintf(buf, sizeof buf, "dids %zu ctx-tables %zu\n", dids_.in_use(), context_tables_.size());
  return s + buf;
}

// --------------------------------------------------------- tables --

PhysAddr Driver::context_entry_pa(Sid sid) const {
  bool upper = caps_.scalable && sid.devfn() >= 128;
  auto it = context_tables_.find(uint16_t(sid.bus() << 1 | upper));
  if (it == context_tables_.end()) return 0;
  return caps_.scalable ? it->second + 32ull * (sid.devfn() & 0x7f)
                        : it->second + 16ull * sid.devfn();
}

Entry Driver::read_entry(EntryKind k, PhysAddr pa) {
  Entry e(k);
  for (size_t i = 0; i < sim::format_of(k).words; ++i) e.w[i] = cpu_->read64(pa + 8 * i);
  return e;
}

static uint8_t aw_for_levels(int levels) {
  return uint8_t(levels - 2);
}

Entry Driver::target_entry(const Device& d, uint32_t pasid, const Domain* dom) const {
  (void)pasid;
  const uint8_t max_aw = five_level_ ? 3 : 2;
  if (!caps_.scalable) {
    Entry e(EntryKind::LegacyContext);
    if (!dom || dom->type == DomainType::Blocking) return e;
    sim::LegacyContextFields f;
    if (dom->type == DomainType::Identity) {
      f.tt = sim::kTtPassThrough;
      f.aw = max_aw;
      f.did = DidAllocator::kDefaultDid;
    } else {
      f.tt = d.caps.ats ? sim::kTtDevTlb : sim::kTtTranslate;
      f.aw = aw_for_levels(dom->pt->levels());
      f.ssptptr = dom->pt->root();
      f.did = dom->did;
    }
    return sim::encode(f);
  }
  Entry e(EntryKind::PasidEntry);
  if (!dom || dom->type == DomainType::Blocking) return e;
  sim::PasidEntryFields f;
  f.did = dom->fixed_did() ? DidAllocator::kDefaultDid : dom->did;
  switch (dom->type) {
    case DomainType::SecondStage:
      f.pgtt = sim::kPgttSecond;
      f.aw = aw_for_levels(dom->pt->levels());
      f.ssptptr = dom->pt->root();
      break;
    case DomainType::FirstStage:
    case DomainType::Sva:
      f.pgtt = sim::kPgttFirst;
      f.aw = 0;
      f.fspm = dom->pt->levels() == 5;
      f.fsptptr = dom->pt->root();
      break;
    case DomainType::Nested: {
      const Domain* parent = domain(dom->parent);
      f.pgtt = sim::kPgttNested;
      f.fspm = dom->pt->levels() == 5;
      f.fsptptr = dom->pt->root();
      f.aw = aw_for_levels(parent->pt->levels());
      f.ssptptr = parent->pt->root();
      break;
    }
    case DomainType::Identity:
      f.pgtt = sim::kPgttPassThrough;
      f.aw = max_aw;
      break;
    default:
      break;
  }
  return sim::encode(f);
}

// ------------------------------------------------------ transitions --

// Moves (device, pasid) from its current domain to `to` (nullptr: blocked).
// Everything that can fail is allocated first; then the stores happen.
Status Driver::switch_domain(Ctx& ctx, Device& d, uint32_t pasid, Domain* to) {
  auto cur = d.att.find(pasid);
  Domain* from = cur == d.att.end() ? nullptr : domain(cur->second);
  if (from == to) return Status::Ok;

  std::vector<PhysAddr> fresh;
  auto rollback = [&](uint16_t did) {
    for (PhysAddr p : fresh) cpu_->free_page(p);
    if (did) dids_.free(did);
    return Status::NoMem;
  };
  const bool upper = caps_.scalable && d.sid.devfn() >= 128;
  const uint16_t ctx_key = uint16_t(d.sid.bus() << 1 | upper);
  PhysAddr ctx_table = 0;
  if (!context_tables_.count(ctx_key)) {
    ctx_table = alloc_page(PageType::Context);
    if (!ctx_table) return rollback(0);
    fresh.push_back(ctx_table);
  }
  const uint32_t dir_index = pasid >> 6;
  PhysAddr pasid_table = 0;
  if (caps_.scalable && !d.pasid_tables.count(dir_index)) {
    pasid_table = alloc_page(PageType::PasidTable);
    if (!pasid_table) return rollback(0);
    fresh.push_back(pasid_table);
  }
  uint16_t new_did = 0;
  if (to && !to->fixed_did() && to->users == 0 && to->pt) {
    new_did = may_alloc() ? dids_.alloc() : 0;
    if (!new_did) return rollback(0);
  }
  // The call's temporary DID comes after the domain's own, so domains get
  // the lowest free DIDs.
  if (!ctx.reserve_spare()) return rollback(new_did);

  // Commit: publish new tables, then the entries.
  ctx.dev = &d;
  // A new table is registered, flushed and published under iommu->lock
  // (Linux iommu_context_addr): the clflush is a preemption point, and
  // another device on the same bus must not allocate a second table there.
  if (ctx_table || pasid_table) ctx.lock();
  if (ctx_table) {
    context_tables_[ctx_key] = ctx_table;
    flush_cpu_cache(ctx_table, sim::kPageSize);
    writer_.publish_table(ctx, root_ + 16ull * d.sid.bus() + (upper ? 8 : 0), ctx_table | 1);
  }
  if (pasid_table) {
    d.pasid_tables[dir_index] = pasid_table;
    flush_cpu_cache(pasid_table, sim::kPageSize);
    writer_.publish_table(ctx, d.pasid_dir + 8ull * dir_index, pasid_table | 1);
  }
  if (ctx_table || pasid_table) ctx.unlock();
  if (to) {
    // Claimed before any store: a nested attach to the same domain at a
    // preemption point must find its DID taken, not allocate another.
    ++to->users;
    if (new_did) to->did = new_did;
  }
  if (caps_.scalable && !d.ctx_live && to) {
    sim::ScalableContextFields f;
    f.paside = d.caps.pasid;
    f.dte = d.caps.ats;
    f.pasiddirptr = d.pasid_dir;
    f.rid_pasid = kRidPasid;
    ctx.at = {EntryKind::ScalableContext, context_entry_pa(d.sid), d.sid, sim::kNoPasid};
    Transition t{ctx.at, read_entry(EntryKind::ScalableContext, ctx.at.pa), sim::encode(f), 0, 0,
                 false};
    writer_.update(ctx, t);
    d.ctx_live = true;
  }
  if (caps_.scalable)
    ctx.at = {EntryKind::PasidEntry, d.pasid_tables[dir_index] + 64ull * (pasid & 0x3f), d.sid,
              pasid};
  else
    ctx.at = {EntryKind::LegacyContext, context_entry_pa(d.sid), d.sid, sim::kNoPasid};
  ctx.from = from;
  ctx.to = to;
  Transition t{ctx.at,
               read_entry(ctx.at.kind, ctx.at.pa),
               target_entry(d, pasid, to),
               uint16_t(from ? (from->fixed_did() ? DidAllocator::kDefaultDid : from->did) : 0),
               uint16_t(to ? (to->fixed_did() ? DidAllocator::kDefaultDid : to->did) : 0),
               true};
  writer_.update(ctx, t);

  if (to)
    d.att[pasid] = to->id;
  else
    d.att.erase(pasid);
  if (from) domain_put(*from);
  return Status::Ok;
}

void Driver::domain_put(Domain& dom) {
  if (--dom.users == 0 && !dom.fixed_did() && dom.did) {
    dids_.free(dom.did);
    dom.did = 0;
  }
}

// ---------------------------------------------------------- devices --

// The iommu group mutex, held for the whole of a device call (as the iommu
// core holds group->mutex around attach and release).
class Driver::GroupLock {
 public:
  GroupLock(sim::CpuMemory& cpu, Sid sid) : cpu_(cpu), id_(lock_id(LockClass::Group, sid.v)) {
    cpu_.lock(id_);
  }
  ~GroupLock() { cpu_.unlock(id_); }

 private:
  sim::CpuMemory& cpu_;
  sim::LockId id_;
};

Status Driver::probe(Sid sid, DeviceCaps caps) {
  begin_call();
  if (devices_.count(sid.v)) return Status::Exist;
  if (!may_alloc()) return Status::NoMem;  // the device_domain_info
  auto d = std::make_unique<Device>();
  d->sid = sid;
  d->caps = caps;
  if (!caps_.scalable) d->caps.pasid = false;
  if (caps_.scalable) {
    d->pasid_dir = alloc_page(PageType::PasidDir);
    if (!d->pasid_dir) return Status::NoMem;
    flush_cpu_cache(d->pasid_dir, sim::kPageSize);
  }
  devices_[sid.v] = std::move(d);
  return Status::Ok;
}

Status Driver::enable_vfs(Sid pf, uint8_t n) {
  begin_call();
  Device* p = device(pf);
  if (!p || p->gone) return Status::NoDev;
  if (p->vf || n == 0 || n > 8 || pf.bus() == 0xff) return Status::Inval;
  if (!p->vfs.empty()) return Status::Busy;
  // Every VF RID must be free before anything is allocated.
  for (uint8_t i = 0; i < n; ++i)
    if (devices_.count(Sid(uint8_t(pf.bus() + 1), 0, i).v)) return Status::Busy;
  std::vector<std::unique_ptr<Device>> made;
  for (uint8_t i = 0; i < n; ++i) {
    Sid vf(uint8_t(pf.bus() + 1), 0, i);
    auto d = std::make_unique<Device>();
    bool ok_alloc = may_alloc();
    if (ok_alloc && caps_.scalable) {
      d->pasid_dir = alloc_page(PageType::PasidDir);
      ok_alloc = d->pasid_dir != 0;
      if (ok_alloc) flush_cpu_cache(d->pasid_dir, sim::kPageSize);
    }
    if (!ok_alloc) {
      for (auto& m : made)
        if (m->pasid_dir) cpu_->free_page(m->pasid_dir);
      return Status::NoMem;
    }
    d->sid = vf;
    d->caps = p->caps;
    d->vf = true;
    made.push_back(std::move(d));
  }
  for (auto& m : made) {
    p->vfs.push_back(m->sid);
    devices_[m->sid.v] = std::move(m);
  }
  return Status::Ok;
}

Status Driver::release_device(Ctx& ctx, Device& d) {
  // Every attachment goes (PASIDs first, the RID last), then the context.
  while (!d.att.empty()) {
    auto it = std::prev(d.att.end());
    Status s = switch_domain(ctx, d, it->first, nullptr);
    if (!ok(s)) return s;
  }
  if (d.ctx_live) {
    ctx.dev = &d;
    ctx.from = ctx.to = nullptr;
    ctx.at = {EntryKind::ScalableContext, context_entry_pa(d.sid), d.sid, sim::kNoPasid};
    Transition t{ctx.at,
                 read_entry(EntryKind::ScalableContext, ctx.at.pa),
                 Entry(EntryKind::ScalableContext),
                 0,
                 0,
                 false};
    writer_.update(ctx, t);
    d.ctx_live = false;
  }
  // Nothing can reach the PASID structures any more.
  for (auto& [idx, table] : d.pasid_tables) cpu_->free_page(table);
  if (d.pasid_dir) cpu_->free_page(d.pasid_dir);
  devices_.erase(d.sid.v);
  return Status::Ok;
}

Status Driver::release(Sid sid) {
  begin_call();
  Device* d = device(sid);
  if (!d) return Status::NoDev;
  GroupLock group(*cpu_, sid);
  // A release changes many entries: its only allocation point, the call's
  // temporary DID, is taken before any of them.
  Ctx ctx(*this);
  if (!ctx.reserve_spare()) return Status::NoMem;
  for (Sid vf : std::vector<Sid>(d->vfs)) {
    if (Device* v = device(vf)) release_device(ctx, *v);
  }
  d = device(sid);
  d->vfs.clear();
  if (d->vf)
    for (auto& [v, p] : devices_) {
      auto& list = p->vfs;
      list.erase(std::remove(list.begin(), list.end(), sid), list.end());
    }
  return release_device(ctx, *d);
}

Status Driver::surprise_remove(Sid sid) {
  Device* d = device(sid);
  if (!d) {
    begin_call();
    return Status::NoDev;
  }
  // Gone: no device-TLB invalidation may be sent to it (or its VFs), now or
  // later. A release that fails (-ENOMEM) leaves the tables, tags and
  // refcounts as they were, but the device stays gone: that is the hardware,
  // not driver state (a later detach must not wait on its device-TLB: ITE).
  d->gone = true;
  for (Sid vf : d->vfs)
    if (Device* v = device(vf)) v->gone = true;
  return release(sid);
}

// ---------------------------------------------------------- domains --

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
  if (!may_alloc()) return Status::NoMem;  // the dmar_domain
  auto d = std::make_unique<Domain>();
  d->id = id;
  d->type = type;
  Ctx ctx(*this);
  if (type != DomainType::Identity && type != DomainType::Blocking) {
    bool fs = type != DomainType::SecondStage;
    d->pt = std::make_unique<PageTable>(fs, type == DomainType::Nested ? 4 : levels);
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

Status Driver::domain_free(DomainId id) {
  begin_call();
  Domain* d = domain(id);
  if (!d) return Status::NoDev;
  if (d->users || d->children) return Status::Busy;
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

// -------------------------------------------------------- attachment --

Status Driver::attach(Sid sid, DomainId id) {
  begin_call();
  Device* d = device(sid);
  if (!d || d->gone) return Status::NoDev;
  Domain* dom = domain(id);
  if (!dom) return Status::NoDev;
  if (dom->type == DomainType::Sva) return Status::Inval;
  if (d->att.count(kRidPasid)) return Status::Busy;
  GroupLock group(*cpu_, sid);
  Ctx ctx(*this);
  return switch_domain(ctx, *d, kRidPasid, dom->type == DomainType::Blocking ? nullptr : dom);
}

Status Driver::replace(Sid sid, DomainId id) {
  begin_call();
  Device* d = device(sid);
  if (!d || d->gone) return Status::NoDev;
  Domain* dom = domain(id);
  if (!dom) return Status::NoDev;
  if (dom->type == DomainType::Sva || !d->att.count(kRidPasid)) return Status::Inval;
  GroupLock group(*cpu_, sid);
  Ctx ctx(*this);
  return switch_domain(ctx, *d, kRidPasid, dom->type == DomainType::Blocking ? nullptr : dom);
}

Status Driver::detach(Sid sid) {
  begin_call();
  Device* d = device(sid);
  if (!d) return Status::NoDev;
  GroupLock group(*cpu_, sid);
  Ctx ctx(*this);
  return switch_domain(ctx, *d, kRidPasid, nullptr);
}

Status Driver::set_pasid(Sid sid, uint32_t pasid, DomainId id) {
  begin_call();
  Device* d = device(sid);
  if (!d || d->gone) return Status::NoDev;
  Domain* dom = domain(id);
  if (!dom) return Status::NoDev;
  if (!caps_.scalable || !d->caps.pasid || pasid == kRidPasid || pasid >= kMaxPasid)
    return Status::Inval;
  if (dom->type == DomainType::Sva && dom->sva_pasid != pasid) return Status::Inval;
  GroupLock group(*cpu_, sid);
  Ctx ctx(*this);
  return switch_domain(ctx, *d, pasid, dom->type == DomainType::Blocking ? nullptr : dom);
}

Status Driver::remove_pasid(Sid sid, uint32_t pasid) {
  begin_call();
  Device* d = device(sid);
  if (!d) return Status::NoDev;
  if (pasid == kRidPasid || !d->att.count(pasid)) return Status::Inval;
  GroupLock group(*cpu_, sid);
  Ctx ctx(*this);
  return switch_domain(ctx, *d, pasid, nullptr);
}

}  // namespace vtd::drv

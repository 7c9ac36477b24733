// Live update in the driver (DESIGN.md section 12): the iommu-core side of
// preserve, kexec, restore and finish (checks and bookkeeping), and
// Driver::Lu, the LuCtx through which the flow's hooks (live_update.h)
// act on this driver.
#include "driver/driver_impl.h"
#include "driver/invalidation.h"
#include "driver/live_update.h"
#include "simulator/registers.h"

namespace vtd::drv {

using sim::Entry;
using sim::EntryKind;
using sim::PageType;
using sim::PhysAddr;
using sim::Sid;

class Driver::Lu final : public LuCtx {
 public:
  explicit Lu(Driver& d) : d_(d) {}

  sim::CpuMemory& cpu() override { return *d_.cpu_; }
  const Caps& caps() const override { return d_.caps_; }

  // ---- facts ----
  LuDomain facts(const Domain& x) const {
    LuDomain f;
    f.id = x.id;
    f.type = x.type;
    f.levels = x.pt ? x.pt->levels() : 0;
    f.root = x.pt ? x.pt->root() : 0;
    f.did = x.did;
    if (x.pt) f.pages = x.pt->pages();
    f.preserved = x.preserved || x.restored;
    return f;
  }
  LuDevice facts(const Device& v) const {
    LuDevice f;
    f.sid = v.sid;
    for (auto& [pasid, dom] : v.att) {
      if (pasid == kRidPasid)
        f.domain = dom;
      else
        f.pasids.push_back(pasid);
    }
    f.ats = v.caps.ats;
    f.pasid_cap = v.caps.pasid;
    f.gone = v.gone;
    // Legacy: the context entry is present while the RID is attached.
    f.live = d_.caps_.scalable ? v.ctx_live : v.att.count(kRidPasid) != 0;
    f.preserved = v.preserved;
    f.upper = d_.caps_.scalable && v.sid.devfn() >= 128;
    auto t = d_.context_tables_.find(uint16_t(v.sid.bus() << 1 | f.upper));
    f.context_table = t == d_.context_tables_.end() ? 0 : t->second;
    f.pasid_dir = v.pasid_dir;
    for (auto& [idx, table] : v.pasid_tables) f.pasid_tables.push_back(table);
    return f;
  }
  std::vector<LuDevice> devices() const override {
    std::vector<LuDevice> out;
    for (auto& [sidv, v] : d_.devices_) out.push_back(facts(*v));
    return out;
  }
  bool device(Sid sid, LuDevice* out) const override {
    auto it = d_.devices_.find(sid.v);
    if (it == d_.devices_.end()) return false;
    *out = facts(*it->second);
    return true;
  }
  std::vector<LuDomain> domains() const override {
    std::vector<LuDomain> out;
    for (auto& [id, x] : d_.domains_) out.push_back(facts(*x));
    return out;
  }
  std::vector<LuContextTable> context_tables() const override {
    std::vector<LuContextTable> out;
    for (auto& [key, pa] : d_.context_tables_)
      out.push_back({uint8_t(key >> 1), (key & 1) != 0, pa});
    return out;
  }
  PhysAddr root_table() const override { return d_.root_; }

  // ---- the old kernel ----
  void lock() override { cpu().lock(lock_id(LockClass::Iommu)); }
  void unlock() override { cpu().unlock(lock_id(LockClass::Iommu)); }

  // P first, in program order (WRITE_ONCE): a fetch in between finds the
  // entry not present, never half of it.
  void clear_context(Sid sid) override {
    const PhysAddr pa = d_.context_entry_pa(sid);
    if (!pa) return;
    cpu().write64_once(pa, 0);
    cpu().write64_once(pa + 8, 0);
    d_.flush_cpu_cache(pa, d_.caps_.scalable ? 32 : 16);
    if (Device* v = d_.device(sid)) v->ctx_live = false;
  }
  void clear_root(uint8_t bus, bool upper) override {
    const PhysAddr pa = d_.root_ + 16ull * bus + (upper ? 8 : 0);
    cpu().write64_once(pa, 0);
    d_.flush_cpu_cache(pa, 8);
    d_.context_tables_.erase(uint16_t(bus << 1 | upper));
  }
  Status invalidate_all(const std::vector<Sid>& devtlb, bool wait) override {
    std::vector<sim::Descriptor> batch = {sim::desc::context_global()};
    if (d_.caps_.scalable) batch.push_back(sim::desc::pasid_cache_global());
    batch.push_back(sim::desc::iotlb_global());
    for (Sid sid : devtlb) {
      batch.push_back(sim::desc::devtlb_all(sid));
      if (const Device* v = d_.device(sid))
        for (auto& [pasid, dom] : v->att)
          if (pasid != kRidPasid) batch.push_back(sim::desc::pdevtlb_global(sid, pasid));
    }
    if (wait) return d_.qi_.submit(cpu(), batch);
    d_.qi_.post(cpu(), batch);
    return Status::Ok;
  }
  void set_translation(bool on) override { d_.global_command(sim::gcmd::TE, on); }
  PhysAddr alloc_kho() override {
    if (!d_.may_alloc()) return 0;
    const PhysAddr page = cpu().alloc_page(PageType::Kho);
    if (page) cpu().kho_preserve(page, true);
    return page;
  }

  // ---- the new kernel ----
  // A queue of its own (IQA resets head and tail: whatever the previous
  // kernel left queued is dropped), processed (QIE).
  Status init_queue() override {
    Qi fresh;
    Status s = fresh.init(cpu(), d_.caps_.scalable, lock_id(LockClass::Qi));
    if (!ok(s)) return s;
    d_.qi_ = fresh;
    d_.global_command(sim::gcmd::QIE, true);
    return Status::Ok;
  }
  Status adopt_root(PhysAddr root) override {
    if (!root) return Status::Inval;
    d_.root_ = root;
    d_.context_tables_.clear();
    for (uint32_t bus = 0; bus < 256; ++bus) {
      const uint64_t lo = cpu().read64(root + 16 * bus), hi = cpu().read64(root + 16 * bus + 8);
      // Legacy: P, CTP; scalable: LP, LCTP and UP, UCTP (VTD-REFERENCE.md).
      if (lo & 1) d_.context_tables_[uint16_t(bus << 1)] = sim::page_of(lo);
      if (d_.caps_.scalable && (hi & 1))
        d_.context_tables_[uint16_t(bus << 1 | 1)] = sim::page_of(hi);
    }
    return Status::Ok;
  }
  Status fresh_root() override {
    const PhysAddr root = d_.alloc_page(PageType::Root);
    if (!root) return Status::NoMem;
    d_.flush_cpu_cache(root, sim::kPageSize);
    d_.root_ = root;
    d_.context_tables_.clear();
    cpu().mmio_write(sim::Reg::RTADDR, root | (d_.caps_.scalable ? sim::rtaddr::TTM_SCALABLE : 0));
    cpu().mmio_write(sim::Reg::GCMD, d_.gcmd_ | sim::gcmd::SRTP);
    return Status::Ok;
  }
  void reserve_did(uint16_t did) override { d_.dids_.reserve(did); }
  Status restore_domain(const KhoState::Dom& k, uint32_t waiting) override {
    if (d_.domains_.count(k.id) || !k.id) return Status::Exist;
    auto x = std::make_unique<Domain>();
    x->id = k.id;
    x->type = k.type;
    x->did = k.did;
    x->restored = true;
    x->waiting = waiting;
    x->pt.emplace(k.type != DomainType::SecondStage, k.levels);
    x->pt->adopt(cpu(), k.root);
    d_.domains_[k.id] = std::move(x);
    return Status::Ok;
  }
  void expect_device(const KhoState::Dev& k) override {
    d_.expected_[k.sid.v] = {k.dom, k.ats, k.pasid_cap};
  }
  void free_page(PhysAddr page) override { cpu().free_page(page); }

  // ---- a preserved device's probe ----
  Status attach_restored(Sid sid, bool fresh_did) override {
    Device* v = d_.device(sid);
    auto e = d_.expected_.find(sid.v);
    if (!v || e == d_.expected_.end()) return Status::NoDev;
    Domain* dom = d_.domain(e->second.dom);
    const PhysAddr ce = d_.context_entry_pa(sid);
    if (!dom || !dom->pt || !ce) return Status::NoDev;
    // The PASID structures are the ones its live context entry names.
    const EntryKind ck = d_.caps_.scalable ? EntryKind::ScalableContext : EntryKind::LegacyContext;
    const Entry c = d_.read_entry(ck, ce);
    if (!c.present()) return Status::NoDev;
    std::map<uint32_t, PhysAddr> tables;
    const PhysAddr dir = d_.caps_.scalable ? c.get(sim::Field::PASIDDIRPTR) : 0;
    for (uint32_t i = 0; dir && i < kMaxPasid / 64; ++i)
      if (const uint64_t de = cpu().read64(dir + 8ull * i); de & 1) tables[i] = sim::page_of(de);
    if (d_.caps_.scalable && !tables.count(0)) return Status::NoDev;
    uint16_t fresh = 0;
    if (fresh_did && dom->users == 0) {
      fresh = d_.may_alloc() ? d_.dids_.alloc() : 0;
      if (!fresh) return Status::NoMem;
    }
    v->caps = {e->second.ats, e->second.pasid_cap && d_.caps_.scalable};
    v->pasid_dir = dir;
    v->pasid_tables = tables;
    v->ctx_live = d_.caps_.scalable;
    v->att[kRidPasid] = dom->id;
    ++dom->users;
    --dom->waiting;
    if (fresh) dom->did = fresh;
    tags(*v, *dom, true);
    return Status::Ok;
  }
  // The tags switch_domain's writer would have added (driver/writer.h).
  void tags(Device& v, Domain& dom, bool add) {
    auto edit = [&](const CacheTag& t) {
      cpu().lock(lock_id(LockClass::Cache, dom.id));
      if (add)
        dom.tags.add(t);
      else
        dom.tags.remove(t);
      if (d_.observer_) d_.observer_->on_cache_tag(dom.id, t, add);  // Driver::Ctx::tags
      cpu().unlock(lock_id(LockClass::Cache, dom.id));
    };
    edit({CacheTag::Kind::Iotlb, dom.did, v.sid, kRidPasid, dom.first_stage()});
    if (v.caps.ats) edit({CacheTag::Kind::DevTlb, 0, v.sid, kRidPasid, false});
  }
  EntryRef rid_entry(Sid sid) override {
    if (!d_.caps_.scalable)
      return {EntryKind::LegacyContext, d_.context_entry_pa(sid), sid, sim::kNoPasid};
    const Device* v = d_.device(sid);
    PhysAddr table = 0;
    if (v)
      if (auto t = v->pasid_tables.find(0); t != v->pasid_tables.end()) table = t->second;
    return {EntryKind::PasidEntry, table, sid, kRidPasid};  // RID_PASID: entry 0 of table 0
  }
  Entry read_entry(const EntryRef& at) override {
    return at.pa ? d_.read_entry(at.kind, at.pa) : Entry(at.kind);
  }
  Entry target_entry(Sid sid) override {
    const Device* v = d_.device(sid);
    if (!v) return Entry(d_.caps_.scalable ? EntryKind::PasidEntry : EntryKind::LegacyContext);
    auto a = v->att.find(kRidPasid);
    return d_.target_entry(*v, kRidPasid, a == v->att.end() ? nullptr : d_.domain(a->second));
  }
  Status rewrite(Sid sid, const Entry& target) override {
    Device* v = d_.device(sid);
    if (!v || !v->att.count(kRidPasid)) return Status::NoDev;
    GroupLock group(cpu(), sid);
    Ctx ctx(d_);
    if (!ctx.reserve_spare()) return Status::NoMem;
    Domain* dom = d_.domain(v->att[kRidPasid]);
    ctx.dev = v;
    ctx.at = rid_entry(sid);
    ctx.from = ctx.to = dom;
    const Entry old = read_entry(ctx.at);
    Transition t{ctx.at,
                 old,
                 target,
                 uint16_t(old.get(sim::Field::DID)),
                 uint16_t(target.get(sim::Field::DID)),
                 false};
    return d_.writer_.update(ctx, t);
  }
  std::vector<sim::Descriptor> entry_invalidations(const EntryRef& at, const Entry& e) override {
    const Device* v = d_.device(at.sid);
    std::vector<sim::Descriptor> out =
        inv::entry_cache(at.kind, at.sid, at.pasid, uint16_t(e.get(sim::Field::DID)));
    for (const sim::Descriptor& x : inv::iotlb(e, at.pasid)) out.push_back(x);
    if (v)
      for (const sim::Descriptor& x : inv::devtlb(at.sid, at.pasid, v->caps.ats, v->gone))
        out.push_back(x);
    return out;
  }
  Status submit(const std::vector<sim::Descriptor>& batch) override {
    return d_.qi_.submit(cpu(), batch);
  }
  void flush_cpu_cache(PhysAddr pa, size_t len) override { d_.flush_cpu_cache(pa, len); }
  Status detach(Sid sid) override {
    Device* v = d_.device(sid);
    if (!v) return Status::NoDev;
    return d_.switch_locked(*v, kRidPasid, nullptr);
  }

 private:
  Driver& d_;
};

// ------------------------------------------------------------ the calls --

bool Driver::frozen(const Domain& d) const {
  return (d.preserved || d.restored) && flow_ && flow_->frozen();
}

Status Driver::preserve_domain(DomainId id) {
  begin_call();
  Domain* d = domain(id);
  if (!flow_) return Status::Inval;
  if (!d) return Status::NoDev;
  if (d->preserved) return Status::Exist;
  // Paging domains only: what iommufd preserves (a HWPT with page tables).
  if (d->restored || (d->type != DomainType::SecondStage && d->type != DomainType::FirstStage))
    return Status::Inval;
  Lu lu(*this);
  Status s = flow_->preserve_domain(lu, lu.facts(*d));
  if (ok(s)) d->preserved = true;
  return s;
}

Status Driver::unpreserve_domain(DomainId id) {
  begin_call();
  Domain* d = domain(id);
  if (!flow_) return Status::Inval;
  if (!d) return Status::NoDev;
  if (!d->preserved) return Status::Inval;
  Lu lu(*this);
  Status s = flow_->unpreserve_domain(lu, lu.facts(*d));
  if (ok(s)) d->preserved = false;
  return s;
}

Status Driver::preserve(Sid sid) {
  begin_call();
  Device* v = device(sid);
  if (!flow_) return Status::Inval;
  if (!v || v->gone) return Status::NoDev;
  if (v->preserved) return Status::Exist;
  auto rid = v->att.find(kRidPasid);
  const Domain* dom = rid == v->att.end() ? nullptr : domain(rid->second);
  if (!dom || !dom->preserved || v->att.size() != 1) return Status::Inval;
  Lu lu(*this);
  Status s = flow_->preserve_device(lu, lu.facts(*v));
  if (ok(s)) v->preserved = true;
  return s;
}

Status Driver::unpreserve(Sid sid) {
  begin_call();
  Device* v = device(sid);
  if (!flow_) return Status::Inval;
  if (!v) return Status::NoDev;
  if (!v->preserved) return Status::Inval;
  Lu lu(*this);
  Status s = flow_->unpreserve_device(lu, lu.facts(*v));
  if (ok(s)) v->preserved = false;
  return s;
}

Status Driver::shutdown(PhysAddr* kho) {
  begin_call();
  *kho = 0;
  if (!flow_) return Status::Inval;
  Lu lu(*this);
  return flow_->shutdown(lu, kho);
}

Status Driver::restore(PhysAddr kho) {
  begin_call();
  if (!flow_) return Status::Inval;
  read_caps();
  if (!writer_.supports(caps_)) return Status::NoDev;
  // TE and QIE as the previous kernel left them (GSTS and GCMD agree on
  // their bit positions).
  gcmd_ = cpu_->mmio_read(sim::Reg::GSTS) & (sim::gcmd::TE | sim::gcmd::QIE);
  Lu lu(*this);
  return flow_->restore_iommu(lu, kho);
}

Status Driver::finish() {
  begin_call();
  if (!flow_) return Status::Inval;
  Lu lu(*this);
  return flow_->finish(lu);
}

Status Driver::restore_device(Device& d) {
  if (!flow_) return Status::Inval;
  Lu lu(*this);
  Status s = flow_->restore_device(lu, d.sid);
  if (!ok(s)) undo_restored(d);
  return s;
}

void Driver::undo_restored(Device& d) {
  auto rid = d.att.find(kRidPasid);
  if (rid != d.att.end()) {
    if (Domain* dom = domain(rid->second)) {
      Lu(*this).tags(d, *dom, false);
      --dom->users;
      ++dom->waiting;
    }
    d.att.erase(rid);
  }
  d.ctx_live = false;
  d.pasid_dir = 0;
  d.pasid_tables.clear();
}

}  // namespace vtd::drv

// Attachment: the entries a (device, PASID) translates through, and
// switch_domain, which moves it between domains through the Writer; the
// iommu-core calls attach, replace, detach, set_pasid and remove_pasid.
#include "driver/driver_impl.h"
#include "simulator/registers.h"

namespace vtd::drv {

using sim::Entry;
using sim::EntryKind;
using sim::PageType;
using sim::PhysAddr;
using sim::Sid;

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
  f.did = dom->entry_did();
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
      if (dom->user_s1) {  // the user's stage-1 (intel_pasid_setup_nested)
        f.fspm = dom->s1.addr_width == 57;
        f.fsptptr = dom->s1.fsptptr;
        f.sre = dom->s1.flags & kS1Sre;
        f.eafe = dom->s1.flags & kS1Eafe;
        f.wpe = dom->s1.flags & kS1Wpe;
      } else {
        f.fspm = dom->pt->levels() == 5;
        f.fsptptr = dom->pt->root();
      }
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
  // A domain has a DID from its first attachment until its last one goes
  // (a restored domain from the start: the preserved one).
  if (to && !to->fixed_did() && to->did == 0 && to->has_tables()) {
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
               uint16_t(from ? from->entry_did() : 0),
               uint16_t(to ? to->entry_did() : 0),
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
  if (--dom.users == 0 && !dom.fixed_did() && dom.did && !dom.waiting) {
    dids_.free(dom.did);
    dom.did = 0;
  }
}

// -------------------------------------------------------- the calls --

// The device and the domain an attach-like call names: -ENODEV when either
// is unknown or the device is gone.
Status Driver::find_pair(Sid sid, DomainId id, Device** d, Domain** dom) {
  *d = device(sid);
  if (!*d || (*d)->gone) return Status::NoDev;
  *dom = domain(id);
  return *dom ? Status::Ok : Status::NoDev;
}

// One switch of (device, pasid) under the group lock; the blocking domain
// is no domain (a not-present entry).
Status Driver::switch_locked(Device& d, uint32_t pasid, Domain* to) {
  if (d.preserved) return Status::Busy;  // live update: it must keep translating as it does
  GroupLock group(*cpu_, d.sid);
  Ctx ctx(*this);
  return switch_domain(ctx, d, pasid, to && to->type == DomainType::Blocking ? nullptr : to);
}

// What the unit cannot run fails the attach (intel_pasid_setup_nested):
// a user's stage-1 with an address width other than 48 or 57 (57 needs
// 5-level first-stage tables), SRE without ECAP.SRS, EAFE without
// ECAP.EAFS.
Status Driver::attachable(const Domain& dom) const {
  if (!dom.user_s1) return Status::Ok;
  const uint8_t aw = dom.s1.addr_width;
  if ((aw != 48 && aw != 57) || (aw == 57 && !five_level_)) return Status::Inval;
  if ((dom.s1.flags & kS1Sre) && !(ecap_ & sim::ecap::SRS)) return Status::Inval;
  if ((dom.s1.flags & kS1Eafe) && !(ecap_ & sim::ecap::EAFS)) return Status::Inval;
  return Status::Ok;
}

Status Driver::attach(Sid sid, DomainId id) {
  begin_call();
  Device* d;
  Domain* dom;
  if (Status s = find_pair(sid, id, &d, &dom); !ok(s)) return s;
  if (Status s = attachable(*dom); !ok(s)) return s;
  if (dom->type == DomainType::Sva) return Status::Inval;
  if (d->att.count(kRidPasid)) return Status::Busy;
  return switch_locked(*d, kRidPasid, dom);
}

Status Driver::replace(Sid sid, DomainId id) {
  begin_call();
  Device* d;
  Domain* dom;
  if (Status s = find_pair(sid, id, &d, &dom); !ok(s)) return s;
  if (Status s = attachable(*dom); !ok(s)) return s;
  if (dom->type == DomainType::Sva || !d->att.count(kRidPasid)) return Status::Inval;
  return switch_locked(*d, kRidPasid, dom);
}

Status Driver::detach(Sid sid) {
  begin_call();
  Device* d = device(sid);
  if (!d) return Status::NoDev;
  return switch_locked(*d, kRidPasid, nullptr);
}

Status Driver::set_pasid(Sid sid, uint32_t pasid, DomainId id) {
  begin_call();
  Device* d;
  Domain* dom;
  if (Status s = find_pair(sid, id, &d, &dom); !ok(s)) return s;
  if (Status s = attachable(*dom); !ok(s)) return s;
  if (!caps_.scalable || !d->caps.pasid || pasid == kRidPasid || pasid >= kMaxPasid)
    return Status::Inval;
  if (dom->type == DomainType::Sva && dom->sva_pasid != pasid) return Status::Inval;
  return switch_locked(*d, pasid, dom);
}

Status Driver::remove_pasid(Sid sid, uint32_t pasid) {
  begin_call();
  Device* d = device(sid);
  if (!d) return Status::NoDev;
  if (pasid == kRidPasid || !d->att.count(pasid)) return Status::Inval;
  return switch_locked(*d, pasid, nullptr);
}

}  // namespace vtd::drv

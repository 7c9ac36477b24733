#include "oracle/model.h"

#include <algorithm>

namespace vtd::oracle {

using drv::DomainId;
using drv::DomainType;
using prog::OpKind;
using sim::Entry;
using sim::Sid;

// ---------------------------------------------------------------- calls --

void Model::moves(const ApiCall& c, std::vector<Move>* out) const {
  std::vector<Move>& t = *out;
  t.clear();
  sim::room(t, 4);  // a flight slot's buffer: grown once
  auto target = [&](DomainId id) -> DomainId {
    auto d = doms_.find(id);
    return d == doms_.end() || d->second.type == DomainType::Blocking ? 0 : id;
  };
  switch (c.kind) {
    case OpKind::Attach:
    case OpKind::Replace:
      t.push_back({c.sid, 0, attached(c.sid, 0), target(c.dom)});
      break;
    case OpKind::Detach:
      t.push_back({c.sid, 0, attached(c.sid, 0), 0});
      break;
    case OpKind::SetPasid:
      if (c.pasid != sim::kNoPasid)
        t.push_back({c.sid, c.pasid, attached(c.sid, c.pasid), target(c.dom)});
      break;
    case OpKind::RemovePasid:
      if (c.pasid != sim::kNoPasid) t.push_back({c.sid, c.pasid, attached(c.sid, c.pasid), 0});
      break;
    case OpKind::Release:
    case OpKind::SurpriseRemove: {
      auto d = devs_.find(c.sid.v);
      if (d == devs_.end()) break;
      std::vector<Sid> all = d->second.vfs;
      all.push_back(c.sid);
      for (Sid s : all) {
        auto dv = devs_.find(s.v);
        if (dv == devs_.end()) continue;
        for (auto& [key, dom] : dv->second.att) t.push_back({s, key, dom, 0});
        // Its context entry goes too, whatever is attached.
        if (!dv->second.att.count(0)) t.push_back({s, 0, 0, 0});
      }
      break;
    }
    case OpKind::Kexec:
      t = kexec_moves();
      break;
    default:
      break;
  }
}

void Model::begin(const ApiCall& c) {
  Flight& f = flights_.push();
  f.call = c;
  moves(c, &f.moves);
  if (c.kind == OpKind::SurpriseRemove) {
    auto d = devs_.find(c.sid.v);
    if (d != devs_.end()) d->second.gone = true;
  }
}

void Model::end(bool ok) {
  if (flights_.empty()) return;
  const Flight& f = flights_.back();  // its slot stays as it is until the next begin()
  flights_.pop();
  if (ok) apply(f);
}

void Model::apply(const Flight& f) {
  const ApiCall& c = f.call;
  switch (c.kind) {
    case OpKind::Domain: {
      Domain d;
      d.type = c.dtype;
      d.parent = c.dtype == DomainType::Nested ? c.parent : 0;
      doms_[c.dom] = d;
      break;
    }
    case OpKind::Free:
      doms_.erase(c.dom);
      break;
    case OpKind::Map:
      doms_[c.dom].maps[c.iova] = {c.pa, c.size, c.perm};
      break;
    case OpKind::Unmap: {
      auto& maps = doms_[c.dom].maps;
      for (auto it = maps.begin(); it != maps.end();) {
        bool hit = it->first < c.iova + c.size && c.iova < it->first + it->second.size;
        it = hit ? maps.erase(it) : std::next(it);
      }
      break;
    }
    case OpKind::Probe: {
      Device d;
      d.ats = c.ats;
      d.pasid_cap = c.pasid_cap && scalable_;
      devs_[c.sid.v] = d;
      break;
    }
    case OpKind::Vfs: {
      // By value and looked up again: an insert into devs_ moves its entries.
      Device vf_dev;
      vf_dev.ats = devs_[c.sid.v].ats;
      vf_dev.pasid_cap = devs_[c.sid.v].pasid_cap;
      vf_dev.vf = true;
      for (uint8_t i = 0; i < c.n; ++i) {
        Sid vf(uint8_t(c.sid.bus() + 1), 0, i);
        devs_[vf.v] = vf_dev;
        devs_[c.sid.v].vfs.push_back(vf);
      }
      break;
    }
    case OpKind::Release:
    case OpKind::SurpriseRemove: {
      const std::vector<Sid> vfs = devs_[c.sid.v].vfs;  // a copy: erase moves the entries
      for (Sid vf : vfs) devs_.erase(vf.v);
      devs_.erase(c.sid.v);
      for (auto& [v, dev] : devs_)
        dev.vfs.erase(std::remove(dev.vfs.begin(), dev.vfs.end(), c.sid), dev.vfs.end());
      break;
    }
    default:
      for (const Move& t : f.moves) {
        Device& d = devs_[t.sid.v];
        if (t.to)
          d.att[t.key] = t.to;
        else
          d.att.erase(t.key);
      }
      break;
  }
  apply_lu(f);
}

// ---------------------------------------------------------------- state --

const Device* Model::device(Sid sid) const {
  auto it = devs_.find(sid.v);
  return it == devs_.end() ? nullptr : &it->second;
}

bool Model::key_of(Sid sid, uint32_t pasid, uint32_t* key) const {
  const Device* d = device(sid);
  if (!d) return false;
  if (pasid == sim::kNoPasid) {
    *key = 0;
    return true;
  }
  if (!scalable_ || !d->pasid_cap) return false;  // PASID requests fault
  *key = pasid;                                   // PASID 0 is RID_PASID: the RID's entry
  return true;
}

DomainId Model::attached(Sid sid, uint32_t key) const {
  const Device* d = device(sid);
  if (!d) return 0;
  auto a = d->att.find(key);
  return a == d->att.end() ? 0 : a->second;
}

const Move* Model::moving(Sid sid, uint32_t key) const {
  for (const Flight& f : flights_)
    for (const Move& t : f.moves)
      if (t.sid == sid && t.key == key) return &t;
  return nullptr;
}

bool Model::device_call_in_flight(Sid sid) const {
  for (const Flight& f : flights_) {
    const OpKind k = f.call.kind;
    if (f.call.sid == sid && k >= OpKind::Release && k <= OpKind::RemovePasid && k != OpKind::Vfs)
      return true;
  }
  return false;
}

size_t Model::devices_on(DomainId id) const {
  size_t n = 0;
  for (auto& [sidv, dev] : devs_) {
    auto a = dev.att.find(0);
    n += a != dev.att.end() && a->second == id;
  }
  return n;
}

int Model::domain_type(DomainId id) const {
  auto d = doms_.find(id);
  return d == doms_.end() ? -1 : int(d->second.type);
}

size_t Model::mappings_of(DomainId id) const {
  auto d = doms_.find(id);
  return d == doms_.end() ? 0 : d->second.maps.size();
}

// ------------------------------------------------------------- outcomes --

void Model::outcomes(DomainId id, sim::Iova iova, std::vector<Outcome>* out) const {
  domain_outcomes(id, iova, out, 0);
}

void Model::domain_outcomes(DomainId id, sim::Iova iova, std::vector<Outcome>* out,
                            int depth) const {
  auto d = doms_.find(id);
  if (!id || d == doms_.end() || d->second.type == DomainType::Blocking || depth > 1) {
    out->push_back({true, 0, false});
    return;
  }
  const Domain& dom = d->second;
  if (dom.type == DomainType::Identity) {
    out->push_back({false, iova, true});
    return;
  }
  // Mappings being added or removed by a call in flight may or may not be
  // visible yet: both answers are allowed. This domain's answers go to the
  // end of `out` (no vector of their own: this runs for every DMA and every
  // cached line).
  bool changing = false;
  const size_t first = out->size();
  const Mapping* cur = nullptr;
  sim::Iova base = 0;
  auto it = dom.maps.upper_bound(iova);
  if (it != dom.maps.begin() && iova < std::prev(it)->first + std::prev(it)->second.size) {
    base = std::prev(it)->first;
    cur = &std::prev(it)->second;
    out->push_back({false, cur->pa + (iova - base), (cur->perm & drv::kWrite) != 0});
  }
  for (const Flight& f : flights_) {
    const ApiCall& c = f.call;
    if (c.dom != id) continue;
    if (c.kind == OpKind::Map && iova >= c.iova && iova < c.iova + c.size) {
      changing = true;
      out->push_back({false, c.pa + (iova - c.iova), (c.perm & drv::kWrite) != 0});
    }
    if (c.kind == OpKind::Unmap && cur && base < c.iova + c.size && c.iova < base + cur->size)
      changing = true;
  }
  if (out->size() == first || changing) out->push_back({true, 0, false});
  if (dom.type != DomainType::Nested) return;
  // Stage-1 output is a GPA: the parent translates it.
  const std::vector<Outcome> mine(out->begin() + long(first), out->end());
  out->resize(first);
  for (const Outcome& o : mine) {
    if (o.fault) {
      out->push_back(o);
      continue;
    }
    std::vector<Outcome> s2;
    domain_outcomes(dom.parent, o.pa, &s2, depth + 1);
    for (Outcome x : s2) {
      x.writable &= o.writable;
      out->push_back(x);
    }
  }
}

std::vector<Outcome> Model::allowed(Sid sid, uint32_t pasid, sim::Iova iova) const {
  std::vector<Outcome> out;
  allowed(sid, pasid, iova, &out);
  return out;
}

void Model::allowed(Sid sid, uint32_t pasid, sim::Iova iova, std::vector<Outcome>* out) const {
  out->clear();
  // Live update: a preserved device translates through its preserved
  // domain, with or without a kernel, until a call moves it (P9).
  if (const DomainId w = continuity(sid); w && pasid == sim::kNoPasid && !moving(sid, 0)) {
    outcomes(w, iova, out);
    return;
  }
  uint32_t key;
  if (!key_of(sid, pasid, &key)) {
    out->push_back({true, 0, false});
    return;
  }
  outcomes(attached(sid, key), iova, out);
  if (const Move* t = moving(sid, key)) {
    outcomes(t->from, iova, out);
    outcomes(t->to, iova, out);
    out->push_back({true, 0, false});  // P3 judges faults of hitless replaces
  }
}

bool Model::matches(const std::vector<Outcome>& os, bool fault, sim::PhysAddr pa, bool write,
                    bool writable) {
  for (const Outcome& o : os) {
    if (fault) {
      if (o.fault || (write && !o.writable)) return true;
    } else if (!o.fault && o.pa == pa && (!write || o.writable) && (writable <= o.writable)) {
      return true;
    }
  }
  return false;
}

bool Model::mapped_alike(DomainId a, DomainId b, sim::Iova iova, bool write) const {
  std::vector<Outcome> oa, ob;
  outcomes(a, iova, &oa);
  outcomes(b, iova, &ob);
  if (oa.size() != 1 || ob.size() != 1 || oa[0].fault || ob[0].fault) return false;
  // A write to a page both map read-only faults before, during and after
  // the replace alike: that is no broken promise (corpus/regress/R13).
  if (write && !oa[0].writable) return false;
  return oa[0].pa == ob[0].pa && oa[0].writable == ob[0].writable;
}

// -------------------------------------------------------------- entries --

Entry shape(const Entry& e) {
  Entry s = sim::config_of(e);
  if (s.has(sim::Field::DID)) s.set(sim::Field::DID, 0);
  return s;
}

bool legal_configuration(const Entry& seen, std::span<const Entry> held) {
  const Entry s = shape(seen);
  return std::any_of(held.begin(), held.end(), [&](const Entry& e) { return shape(e) == s; });
}

bool legal_entry(const Entry& seen, std::span<const Entry> held,
                 std::span<const uint16_t> temporary_dids) {
  const Entry c = sim::config_of(seen);
  const bool temp = seen.has(sim::Field::DID) &&
                    std::find(temporary_dids.begin(), temporary_dids.end(),
                              uint16_t(seen.get(sim::Field::DID))) != temporary_dids.end();
  for (const Entry& h : held) {
    Entry hc = sim::config_of(h);
    if (temp && hc.present()) hc.set(sim::Field::DID, seen.get(sim::Field::DID));
    if (hc == c) return true;
  }
  return false;
}

}  // namespace vtd::oracle

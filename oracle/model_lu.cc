// Live update in the abstract model (DESIGN.md section 12): what preserve,
// kexec, restore and a preserved device's probe mean for the iommu-core
// state. The semantics are the API's, whatever flow implements them.
#include "oracle/model.h"

namespace vtd::oracle {

using drv::DomainId;
using prog::OpKind;
using sim::Sid;

DomainId Model::continuity(Sid sid) const {
  auto it = lu_.window.find(sid.v);
  return it == lu_.window.end() ? 0 : it->second;
}

// The shutdown takes every unpreserved device's attachments and context
// entry away (a release without the release); a preserved device keeps its
// RID's domain.
std::vector<Move> Model::kexec_moves() const {
  std::vector<Move> t;
  for (auto& [sidv, dev] : devs_) {
    const Sid sid(sidv);
    const bool kept = lu_.devs.count(sidv) != 0;
    for (auto& [key, dom] : dev.att)
      if (!kept || key != 0) t.push_back({sid, key, dom, 0});
    if (!kept && !dev.att.count(0)) t.push_back({sid, 0, 0, 0});
  }
  return t;
}

void Model::apply_lu(const Flight& f) {
  const ApiCall& c = f.call;
  auto forget = [&](Sid sid) {
    lu_.devs.erase(sid.v);
    lu_.window.erase(sid.v);
  };
  switch (c.kind) {
    case OpKind::PreserveDomain:
      lu_.doms.insert(c.dom);
      return;
    case OpKind::UnpreserveDomain:
    case OpKind::Free:
      lu_.doms.erase(c.dom);
      return;
    case OpKind::Preserve: {
      const Device* d = device(c.sid);
      const DomainId dom = attached(c.sid, 0);
      lu_.devs[c.sid.v] = {dom, d && d->ats, d && d->pasid_cap};
      lu_.window[c.sid.v] = dom;
      return;
    }
    case OpKind::Unpreserve:
      forget(c.sid);
      return;
    case OpKind::Kexec:
      // The new kernel knows no device yet; only the preserved domains
      // outlive the old one.
      devs_.clear();
      for (auto it = doms_.begin(); it != doms_.end();)
        it = lu_.doms.count(it->first) ? std::next(it) : doms_.erase(it);
      lu_.phase = LuPhase::Dark;
      return;
    case OpKind::Restore:
      lu_.phase = LuPhase::New;
      return;
    case OpKind::Probe:
    case OpKind::Vfs: {
      if (lu_.phase != LuPhase::New) return;
      std::vector<Sid> made = {c.sid};
      if (c.kind == OpKind::Vfs) {
        made.clear();
        for (uint8_t i = 0; i < c.n && i < 8; ++i)
          made.push_back(Sid(uint8_t(c.sid.bus() + 1), 0, i));
      }
      // A preserved device comes back on its restored domain, as it was.
      for (Sid s : made) {
        auto p = lu_.devs.find(s.v);
        auto d = devs_.find(s.v);
        if (p == lu_.devs.end() || d == devs_.end()) continue;
        d->second.ats = p->second.ats;
        d->second.pasid_cap = p->second.pasid_cap && scalable_;
        d->second.att[0] = p->second.dom;
      }
      return;
    }
    case OpKind::Release:
    case OpKind::SurpriseRemove:
      if (lu_.phase != LuPhase::New) return;
      for (const Move& m : f.moves) forget(m.sid);  // its VFs too
      forget(c.sid);
      return;
    default:
      // In the new kernel, a call that moves a preserved device's RID ends
      // its window: it is an ordinary device from then on.
      if (lu_.phase != LuPhase::New) return;
      for (const Move& m : f.moves)
        if (m.key == 0) forget(m.sid);
      return;
  }
}

}  // namespace vtd::oracle

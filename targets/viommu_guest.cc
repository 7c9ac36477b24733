// Two-level vIOMMU programs (targets/viommu.h): the guest is a second
// driver instance, with its own writer and CPU, on the virtual unit; its
// oracle is the ordinary one (oracle/oracle.h) one level up (P14): the
// guest's calls are its API, an assigned device's DMA (under the guest's
// BDF) its hardware events, and the unit it reads is the guest's view:
// the guest's root table, the virtual PASID cache the vIOMMU judge keeps,
// and the host's IOTLB lines of the nested HWPTs under the guest's DIDs.
// Host stores are the schedule points; their steps run the host's
// hardware.
#include <cinttypes>
#include <cstdio>

#include "simulator/registers.h"
#include "targets/steps.h"
#include "targets/viommu_runner.h"

namespace vtd::viommu::detail {

using prog::Arg;
using prog::Op;
using prog::OpKind;
using sim::Sid;

namespace {

// The iommu-core call a guest op is (the guest oracle's model knows those).
OpKind host_twin(OpKind k) {
  switch (k) {
    case OpKind::Assign:
      return OpKind::Probe;  // the guest's driver probes the device it was given
    case OpKind::GDomain:
      return OpKind::Domain;
    case OpKind::GFree:
      return OpKind::Free;
    case OpKind::GMap:
      return OpKind::Map;
    case OpKind::GUnmap:
      return OpKind::Unmap;
    case OpKind::GAttach:
      return OpKind::Attach;
    case OpKind::GReplace:
      return OpKind::Replace;
    case OpKind::GDetach:
      return OpKind::Detach;
    case OpKind::GPasidSet:
      return OpKind::SetPasid;
    case OpKind::GPasidRemove:
      return OpKind::RemovePasid;
    default:
      return k;
  }
}

}  // namespace

bool two_level(const prog::Program& p) {
  for (const Op& op : p.ops)
    if (op.kind >= OpKind::GDomain && op.kind <= OpKind::GPasidRemove) return true;
  return false;
}

// A guest boots: its driver initialises on the virtual unit (root table,
// queue), turns remapping on and probes the devices it was given; a new
// oracle watches it.
bool Runner::boot_guest(uint32_t op_index) {
  guest_writer_ = drv::make_writer(guest_writer_name_);
  gd_ = std::make_unique<drv::Driver>(gcpu_, *guest_writer_);
  go_.reset();
  if (!drv::ok(gd_->init())) return false;
  unit_.set_remapping(vmm::Remap::On);  // GCMD.TE after SRTP
  go_ = std::make_unique<oracle::Oracle>(m_.mem, view_, *guest_writer_, guest_writer_name_);
  go_->set_memory_limit(kGuestRam);  // the nesting parent maps guest RAM only
  gd_->set_observer(go_.get());      // its cache-tag tracepoints (temporary DIDs, P1)
  for (const auto& [g, a] : guests_) {
    oracle::ApiCall c;
    c.kind = OpKind::Probe;
    c.text = "probe dev=" + a.guest.str() + " pasid";
    c.sid = a.guest;
    c.pasid_cap = true;
    go_->begin(op_index, c, 0);
    const drv::Status st = gd_->probe(a.guest, {false, true});
    refresh_view();
    go_->end(st);
  }
  return true;
}

drv::Status Runner::guest_call(const Op& op) {
  const Sid sid(uint16_t(op.get(Arg::Dev)));
  const drv::DomainId dom = drv::DomainId(op.get(Arg::Dom));
  switch (op.kind) {
    case OpKind::GDomain:
      return gd_->domain_alloc(dom, drv::DomainType(op.get(Arg::DType)),
                               drv::DomainId(op.get(Arg::Parent)), int(op.get(Arg::Levels)));
    case OpKind::GFree:
      return gd_->domain_free(dom);
    case OpKind::GMap:
      return gd_->map(dom, op.get(Arg::Iova), op.get(Arg::Pa), prog::size_of(op),
                      uint8_t(op.get(Arg::Perm)));
    case OpKind::GUnmap:
      return gd_->unmap(dom, op.get(Arg::Iova), prog::size_of(op));
    case OpKind::GAttach:
      return gd_->attach(sid, dom);
    case OpKind::GReplace:
      return gd_->replace(sid, dom);
    case OpKind::GDetach:
      return gd_->detach(sid);
    case OpKind::GPasidSet:
      return gd_->set_pasid(sid, harness::pasid_arg(op), dom);
    case OpKind::GPasidRemove:
      return gd_->remove_pasid(sid, harness::pasid_arg(op));
    default:
      return drv::Status::Inval;
  }
}

void Runner::guest_begin(uint32_t op_index, const Op& op) {
  oracle::ApiCall c = harness::call_of(op);
  c.kind = host_twin(op.kind);
  if (op.kind == OpKind::Assign) c.pasid_cap = true;  // the guest sees a PASID-capable device
  go_->begin(op_index, c, 0);
}

void Runner::guest_end(drv::Status st) {
  if (!go_) return;
  refresh_view();
  go_->end(st);
  if (!go_->violated() || p14_) return;
  const oracle::Violation& g = go_->violation();
  std::vector<std::string> details = g.details;
  details.insert(details.begin(), std::string("guest ") + oracle::property_name(g.property) + " " +
                                      oracle::property_title(g.property) + " (guest writer " +
                                      guest_writer_name_ + ")");
  p14(std::string("guest ") + oracle::property_name(g.property) + ": " + g.what, details,
      g.sig_text);
  v14_.op_index = g.op_index;
  v14_.op_text = g.op_text;
  v14_.point = g.point;
  v14_.events = g.events;
}

void Runner::p14(const std::string& what, std::vector<std::string> details,
                 const std::string& kind) {
  if (p14_) return;
  p14_ = true;
  v14_.property = oracle::Property::P14;
  v14_.op_index = op_index_;
  v14_.op_text = op_ ? prog::op_text(*op_) : "";
  v14_.point = stores_ ? "store " + std::to_string(stores_) : "end";
  v14_.what = what;
  v14_.details = std::move(details);
  v14_.sig_text = "P14 " + prop_name_ + " " + kind;
  v14_.sign();
}

// The unit as the guest's oracle reads it: the guest's RTADDR; while
// remapping is on, the judge's virtual PASID cache and the host's IOTLB
// lines of each nested HWPT under the DID (and PASID) the guest entry
// bound to it carries.
void Runner::refresh_view() {
  sim::Caches& c = view_.caches();
  c.ctx_inv_global();
  c.pasid_inv_global();
  c.iotlb_inv(true, 0, sim::kNoPasid, {}, false);
  // RTADDR takes effect at SRTP (spec 11.4.4), TE follows the guest's.
  view_.mmio_write(sim::Reg::RTADDR, unit_.rtaddr());
  view_.mmio_write(sim::Reg::GCMD,
                   sim::gcmd::SRTP | (unit_.remap() != vmm::Remap::Off ? sim::gcmd::TE : 0));
  if (unit_.remap() != vmm::Remap::On) return;
  const auto& lines = judge_.lines();
  for (const auto& [k, e] : lines) c.pasid_fill(Sid(k.first), k.second, e);
  for (const auto& [hk, t] : m_.iommu.caches().iotlb()) {
    for (const auto& [g, a] : guests_) {
      for (uint32_t pasid : fd_.attached_pasids(a.dev_id)) {
        const uint32_t hwpt = fd_.attached(a.dev_id, pasid);
        if (d_.did_of(hwpt) != hk.did || hk.pasid_tag != pasid) continue;
        for (const auto& [k, e] : lines) {
          if (k.first != g || k.second != pasid || !e.present()) continue;
          sim::Translation v = t;
          v.did = uint16_t(e.get(sim::Field::DID));
          v.root = e.get(sim::Field::FSPTPTR);
          v.pgtt = uint8_t(e.get(sim::Field::PGTT));
          c.iotlb_fill(hk.base, v, a.guest, pasid);
        }
      }
    }
  }
}

// An assigned device's DMA, one level up. With remapping off (or a legacy
// root table) requests without PASID reach guest memory untranslated
// through the default HWPT (guest RAM: the first GiB), those with a PASID
// fault.
void Runner::guest_dma(const sim::HwEvent& e) {
  for (const auto& [g, a] : guests_) {
    if (a.host != e.sid) continue;
    // Until its assign returns the device is the VMM's (default HWPT, then
    // the unit's state): the guest's driver has not probed it yet.
    if (op_ && op_->kind == OpKind::Assign && op_->get(Arg::Dev) == a.guest.v) return;
    // A host call for it failed and the guest heard so (P16's business):
    // its DMA is in error until the guest changes the entry (soak found the
    // device left on the default HWPT after a failed detach, told a fault).
    if (judge_.in_error(a.guest, e.pasid == sim::kNoPasid ? 0 : e.pasid)) return;
    if (unit_.remap() == vmm::Remap::On) {
      sim::HwEvent up = e;
      up.sid = a.guest;
      go_->on_event(up);
      return;
    }
    const bool fault = e.fault != sim::FaultReason::None;
    const bool untranslated = e.pasid == sim::kNoPasid && e.iova < kGuestRam;
    if (untranslated ? !fault && e.addr == e.iova : fault) return;
    p14(std::string("with remapping ") + vmm::remap_name(unit_.remap()) + ", a DMA of " +
            a.guest.str() + " to iova " + sim::hex(e.iova) + " gave " +
            (fault ? std::string("a fault") : sim::hex(e.addr)),
        {std::string("must give: ") + (untranslated ? sim::hex(e.iova) : "a fault")},
        "remapping-off dma");
    return;
  }
}

void Runner::host_step(const Op& op) {
  if (op.kind == OpKind::Cpu2) {
    line([] {
      return std::string("  cpu2 not run: the host's second CPU runs no op of a vIOMMU program");
    });
    return;
  }
  harness::hw_step(m_, op, &dma_value_);
}

}  // namespace vtd::viommu::detail

#include "targets/harness.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>

#include "driver/driver.h"
#include "simulator/machine.h"
#include "simulator/registers.h"
#include "targets/live_update.h"
#include "targets/steps.h"
#include "targets/trace.h"
#include "targets/viommu.h"

namespace vtd::harness {

using sim::hex;

using prog::Arg;
using prog::Op;
using prog::OpKind;

namespace {

class Runner final : public sim::Schedule, public sim::Observer {
 public:
  // `flow`: the live-update flow every kernel of the run uses; `name` the
  // writer as reports and signatures spell it.
  Runner(const prog::Program& p, drv::Writer& w, const std::string& flow, const std::string& name,
         const Options& opt)
      : p_(p),
        m_(p.config, opt.pages),
        lu_(flow, w),
        d_(lu_.boot(m_)),
        o_(m_, w, name),
        trace_(opt.trace),
        opt_(opt) {
    m_.set_schedule(this);
    m_.iommu.set_observer(this);
    if (d_) d_->set_observer(&o_);
  }

  Result go() {
    Result& r = r_;
    if (!d_ || !drv::ok(d_->init())) {
      r.error = "the driver failed to initialise";
      return r;
    }
    uint32_t pending_fail = 0;
    for (uint32_t i = 0; i < p_.ops.size() && !o_.violated(); ++i) {
      const Op& op = p_.ops[i];
      ++r.ops_run;
      if (trace_) rec_.begin_op(prog::op_text(op));
      if (op.kind == OpKind::FailNth) {
        pending_fail = uint32_t(op.get(Arg::N));
        continue;
      }
      if (op.kind == OpKind::Inject) {
        static const uint64_t kBits[] = {sim::fsts::IQE, sim::fsts::ITE, sim::fsts::ICE};
        m_.iommu.inject_queue_error(kBits[op.get(Arg::QErr) % 3]);
        continue;
      }
      op_ = &op;
      stores_ = waits_ = 0;
      choice_ = 0;
      m_.mem.begin_epoch();
      begin_features(op);
      o_.begin(i, call_of(op), 0);
      drv::Status st = drv::Status::Ok;
      if (prog::is_api(op.kind)) {
        fail_nth_ = pending_fail;
        if (pending_fail && d_) d_->fail_nth_alloc(pending_fail);
        pending_fail = 0;
        st = api(op);
      } else {
        step(op);
      }
      // A parked walk stays in flight: hardware is asynchronous to the CPU.
      // It resumes at a resume-walks step or when an invalidation drains it.
      op_ = nullptr;
      o_.end(st);
      features(op, st);
      if (trace_) {
        if (lu_.phase() == LiveUpdate::Phase::Dark && op.kind != OpKind::Kexec)
          rec_.note("(dark window: no kernel runs)");
        rec_.end_op(drv::status_name(st));
      }
    }
    r.violated = o_.violated();
    if (r.violated) r.violation = o_.violation();
    return r;
  }

  // sim::Schedule
  uint32_t choose(sim::ChoiceKind, uint32_t n) override {
    if (!op_ || nested_ || choice_ >= op_->choices.size()) return 0;
    return op_->choices[choice_++] % n;
  }

  void preempt(const sim::PreemptPoint& pp) override {
    if (!op_ || nested_ || pp.cpu != 0) return;
    sim::PointKind kind =
        pp.kind == sim::PointKind::Wait ? sim::PointKind::Wait : sim::PointKind::Store;
    uint32_t index = kind == sim::PointKind::Wait ? ++waits_ : ++stores_;
    o_.point(kind, index);
    if (trace_) rec_.point(pp, kind, index);
    for (const prog::SchedPoint& sp : op_->sched)
      if (sp.kind == kind && sp.index == index) {
        feature(
            0x51, uint32_t(op_->kind), uint32_t(sp.step.front().kind), std::min(index, 8u),
            sp.step.front().kind == OpKind::Cpu2 ? uint32_t(sp.step.front().sub.front().kind) : 0);
        if (opt_.feature) {
          // How the step relates to the call it interrupts: the same device,
          // the domain it moves to, the domain it leaves.
          const Op& st =
              sp.step.front().kind == OpKind::Cpu2 ? sp.step.front().sub.front() : sp.step.front();
          const uint64_t dev = op_->get(prog::Arg::Dev), to = op_->get(prog::Arg::Dom);
          const uint64_t from = dev ? o_.model().domain_of(sim::Sid(uint16_t(dev))) : 0;
          uint32_t rel = (dev && st.get(prog::Arg::Dev) == dev) |
                         (to && st.get(prog::Arg::Dom) == to) << 1 |
                         (from && st.get(prog::Arg::Dom) == from) << 2;
          feature(0x53, uint32_t(op_->kind), uint32_t(sp.step.front().kind), uint32_t(st.kind),
                  rel);
          if (dev)
            feature(0x52, uint32_t(op_->kind), uint32_t(sp.step.front().kind), sharing(dev),
                    target(to));
        }
        if (trace_) rec_.step(kind, index, sp.step.front());
        step(sp.step.front());
      }
  }

  // sim::Observer: the oracle sees everything; the trace keeps what explain shows.
  void on_event(const sim::HwEvent& e) override {
    o_.on_event(e);
    if (opt_.feature) near_miss(e);
    if (trace_) rec_.hw(e);
  }

 private:
  drv::Status api(const Op& op) {
    const sim::Sid sid(uint16_t(op.get(Arg::Dev)));
    const drv::DomainId dom = drv::DomainId(op.get(Arg::Dom));
    // Live update: which kernel runs (targets/live_update.h).
    if (drv::Status refused; !lu_.admits(op.kind, &refused)) return refused;
    if (!d_ && op.kind != OpKind::Restore) return drv::Status::NoDev;
    switch (op.kind) {
      case OpKind::Domain:
        return d_->domain_alloc(dom, drv::DomainType(op.get(Arg::DType)),
                                drv::DomainId(op.get(Arg::Parent)), int(op.get(Arg::Levels)));
      case OpKind::Free:
        return d_->domain_free(dom);
      case OpKind::Map:
        return d_->map(dom, op.get(Arg::Iova), op.get(Arg::Pa), prog::size_of(op),
                       uint8_t(op.get(Arg::Perm)));
      case OpKind::Unmap:
        return d_->unmap(dom, op.get(Arg::Iova), prog::size_of(op));
      case OpKind::Probe:
        if (!m_.iommu.device_present(sid)) m_.iommu.device_plug(sid, op.get(Arg::Ats));
        return d_->probe(sid, {op.get(Arg::Ats) != 0, op.get(Arg::PasidCap) != 0});
      case OpKind::Release:
        return d_->release(sid);
      case OpKind::Vfs: {
        uint8_t n = uint8_t(op.get(Arg::N));
        std::vector<sim::Sid> plugged;
        const std::vector<sim::Sid>& own = vfs_[sid.v];
        for (uint8_t i = 0; i < n && i < 8 && sid.bus() < 0xff; ++i) {
          sim::Sid vf(uint8_t(sid.bus() + 1), 0, i);
          if (m_.iommu.device_present(vf)) {
            // A RID another function holds (another PF's VF the driver
            // released, still on the bus; a probed device): two functions
            // never share a RID, so the PCI core refuses the enable before
            // the IOMMU driver hears of it. This PF's own VFs stay.
            if (std::find(own.begin(), own.end(), vf) == own.end()) {
              for (sim::Sid p : plugged) m_.iommu.device_unplug(p);
              return drv::Status::Busy;
            }
            continue;
          }
          m_.iommu.device_plug(vf, m_.iommu.device_ats(sid));
          plugged.push_back(vf);
        }
        drv::Status st = d_->enable_vfs(sid, n);
        if (drv::ok(st))  // its VFs still on the bus (a kernel before a kexec made them) stay its
          vfs_[sid.v].insert(vfs_[sid.v].end(), plugged.begin(), plugged.end());
        else
          for (sim::Sid vf : plugged) m_.iommu.device_unplug(vf);
        return st;
      }
      case OpKind::SurpriseRemove: {
        // The device and the VFs it created vanish first; the driver learns
        // of it after.
        m_.iommu.device_unplug(sid);
        const std::vector<sim::Sid> gone = vfs_[sid.v];
        for (sim::Sid vf : gone) m_.iommu.device_unplug(vf);
        vfs_.erase(sid.v);
        // The PCI core removes every function that vanished. A VF the
        // driver probed as a device of its own (its PF released, or the
        // kernel before a kexec enabled it) is no VF of the PF's for the
        // driver: it hears of that one first, in a call of its own, or it
        // would wait on the device-TLB of a device that is gone (ITE).
        const oracle::Device* pf = o_.model().device(sid);
        for (sim::Sid vf : gone) {
          const oracle::Device* v = o_.model().device(vf);
          if (v && !v->gone &&
              (!pf || std::find(pf->vfs.begin(), pf->vfs.end(), vf) == pf->vfs.end()))
            removed_too(vf);
        }
        return d_->surprise_remove(sid);
      }
      case OpKind::Attach:
        return d_->attach(sid, dom);
      case OpKind::Replace:
        return d_->replace(sid, dom);
      case OpKind::Detach:
        return d_->detach(sid);
      case OpKind::SetPasid:
        return d_->set_pasid(sid, pasid_arg(op), dom);
      case OpKind::RemovePasid:
        return d_->remove_pasid(sid, pasid_arg(op));
      case OpKind::PreserveDomain:
        return d_->preserve_domain(dom);
      case OpKind::UnpreserveDomain:
        return d_->unpreserve_domain(dom);
      case OpKind::Preserve:
        return d_->preserve(sid);
      case OpKind::Unpreserve:
        return d_->unpreserve(sid);
      case OpKind::Kexec:
        return lu_.kexec(m_, o_, d_, trace_ ? &rec_ : nullptr);
      case OpKind::Restore:
        return lu_.restore(m_, o_, d_, fail_nth_, trace_ ? &rec_ : nullptr);
      case OpKind::Finish:
        return d_->finish();
      default:
        return drv::Status::Inval;
    }
  }

  void step(const Op& op) {
    if (op.kind == OpKind::Cpu2)
      nested(op.sub.front());
    else
      hw_step(m_, op, &dma_value_);
  }

  // The surprise removal of `vf`, a call of the PCI core's on the second
  // CPU (already there when the removal that took it is itself nested).
  void removed_too(sim::Sid vf) {
    Op r;
    r.kind = OpKind::SurpriseRemove;
    r.set(Arg::Dev, vf.v);
    if (!nested_) {
      nested(r);
      return;
    }
    o_.begin(uint32_t(-1), call_of(r), 1);
    o_.end(d_->surprise_remove(vf));
  }

  // An op of the second CPU, at a preemption point of the first; it runs
  // only if it needs no lock the first CPU holds there.
  void nested(const Op& op) {
    if (nested_ || !d_) return;
    const sim::Sid sid(uint16_t(op.get(Arg::Dev)));
    const drv::DomainId dom = drv::DomainId(op.get(Arg::Dom));
    std::vector<sim::LockId> need = op.kind == OpKind::Map || op.kind == OpKind::Unmap
                                        ? d_->locks_for_map(dom)
                                        : d_->locks_for_attach(sid, dom);
    for (sim::LockId l : need)
      if (m_.cpu0.holds(l)) {
        if (trace_) rec_.blocked();
        return;
      }
    nested_ = true;
    d_->set_cpu(&m_.cpu1);
    o_.begin(uint32_t(-1), call_of(op), 1);
    drv::Status st = api(op);
    o_.end(st);
    feature(0xc2, uint32_t(op_->kind), uint32_t(op.kind), uint32_t(-int(st)));
    if (d_) d_->set_cpu(&m_.cpu0);
    nested_ = false;
    if (trace_) rec_.nested(op, drv::status_name(st));
  }

  // Features: abstract states the engine cannot see as code coverage,
  // each a small tuple of bucketed values hashed to one of the ops target's
  // presence counters (never affects the run). Each kind earns its place by
  // a property it leads to; the dimensions are bounded (op kinds, buckets
  // of 0-3, 4-7, 8+, store indices capped), so one execution marks a few
  // dozen (`./vtdfuzz bench` prints how many):
  //   0x01 op kind x status             an op that got past its checks
  //   0x0b attach/replace x target type x sharing   DID sharing (P5, P4)
  //   0x0c replace from x to x sharing  the transitions P1/P3/P5 judge
  //   0x02-0x04 caches and write-back state left by an op (P4)
  //   0x05 IOTLB tag filled from n roots by m requesters (P5 near miss)
  //   0x06 fill by the device an op is moving (P5, B5)
  //   0x08 entry fetched inside an op, at which store (P1, P6)
  //   0x0d entry fetched from a table the op allocated, stores pending (B11, P6)
  //   0x0a DID named by n devices' fetched entries (P5, B12)
  //   0x09 DMA inside an op: fault or not, device-TLB, store (P2, P3)
  //   0x51-0x53 a schedule point's step and how it relates to the op
  //   0xc2 an op of the second CPU and its status (B6, B12 races)
  void feature(uint32_t a, uint32_t b = 0, uint32_t c = 0, uint32_t d = 0, uint32_t e = 0) {
    if (!opt_.feature) return;
    uint32_t h = 2166136261u;
    for (uint32_t x : {a, b, c, d, e}) h = (h ^ x) * 16777619u;
    opt_.feature(h, opt_.feature_ctx);
  }
  static uint32_t bucket(size_t n) { return n < 4 ? uint32_t(n) : n < 8 ? 4 : 5; }

  // The abstract model's picture (oracle): how many devices share the
  // domain a device is on (DID sharing starts here), and a domain's type and
  // whether it maps anything.
  uint32_t sharing(uint64_t dev) const {
    drv::DomainId d = o_.model().domain_of(sim::Sid(uint16_t(dev)));
    return d ? bucket(o_.model().devices_on(d)) : 0;
  }
  uint32_t target(uint64_t dom) const {
    return uint32_t(o_.model().domain_type(drv::DomainId(dom)) + 1) << 4 |
           bucket(o_.model().mappings_of(drv::DomainId(dom)));
  }
  // Before an op runs: a replace, by the types it moves between.
  void begin_features(const Op& op) {
    if (!opt_.feature || op.kind != OpKind::Replace) return;
    const uint64_t dev = op.get(prog::Arg::Dev);
    feature(0x0c, target(o_.model().domain_of(sim::Sid(uint16_t(dev)))),
            target(op.get(prog::Arg::Dom)), sharing(dev));
  }

  void features(const Op& op, drv::Status st) {
    if (!opt_.feature) return;
    feature(0x01, uint32_t(op.kind), uint32_t(-int(st)));
    if ((op.kind == OpKind::Attach || op.kind == OpKind::Replace) && st == drv::Status::Ok)
      feature(0x0b, uint32_t(op.kind), target(op.get(prog::Arg::Dom)),
              sharing(op.get(prog::Arg::Dev)));
    const sim::Caches& c = m_.iommu.caches();
    // DIDs with IOTLB lines, and those with more than one: one pass, the
    // IOTLB is ordered by DID first.
    size_t dids = 0, shared = 0, run = 0;
    uint32_t last = UINT32_MAX;
    for (auto& [k, t] : c.iotlb()) {
      if (k.did != last) {
        ++dids;
        run = 0;
        last = k.did;
      }
      shared += ++run == 2;
    }
    feature(0x02, uint32_t(op.kind), bucket(dids), bucket(shared), bucket(c.devtlb().size()));
    feature(0x03, uint32_t(op.kind), bucket(c.pasid().size()), bucket(c.ctx().size()),
            bucket(c.psc().size()));
    feature(0x04, uint32_t(op.kind), bucket(m_.iommu.parked_walks()), bucket(m_.mem.dirty_count()));
    // Live update: how far the handover got, how much is preserved.
    const oracle::Model& mo = o_.model();
    feature(0x07, uint32_t(op.kind), uint32_t(mo.lu_phase()), bucket(mo.preserved_devices().size()),
            bucket(mo.continuity().size()));
  }

  // Near misses of the properties: states one step from a violation (a tag
  // filled from two roots by one device, or by two devices from one root;
  // entries and DMAs seen while an op is in flight) are worth keeping.
  void near_miss(const sim::HwEvent& e) {
    const uint32_t op = op_ ? uint32_t(op_->kind) : 0xff;
    switch (e.kind) {
      case sim::EventKind::CacheFill:
        if (e.cache == sim::CacheKind::Iotlb && e.xlat) {
          Tag& t = tag(e.did, e.xlat->pasid_tag);
          t.roots.add(e.xlat->root);
          t.requesters.add(uint64_t(e.sid.v) << 20 | (e.pasid & 0xfffff));
          feature(0x05, op, bucket(t.roots.n), bucket(t.requesters.n));
          // A fill while a device call is in flight, by the device it moves,
          // with how many devices share the domain it leaves.
          if (op_ && op_->get(prog::Arg::Dev) == e.sid.v)
            feature(0x06, op, sharing(e.sid.v), target(op_->get(prog::Arg::Dom)),
                    std::min(stores_, 4u));
        }
        break;
      case sim::EventKind::CacheInval:
        if (e.cache == sim::CacheKind::Iotlb && e.v0 == 0) tags_.clear();  // whole tags invalidated
        break;
      case sim::EventKind::EntryFetched:
        if (op_) {
          feature(0x08, op, uint32_t(e.entry_kind), e.entry && e.entry->present(),
                  std::min(stores_, 8u));
          // The hardware inside a table this op allocated, with the CPU's
          // stores still in its store buffer: the ground a table published
          // before its contents (B11, P6) or freed too early grows on.
          if (m_.mem.epoch_fresh(sim::page_of(e.addr)))
            feature(0x0d, op, uint32_t(e.entry_kind), e.entry && e.entry->present(),
                    uint32_t(std::min<size_t>(m_.cpu0.pending(), 3)));
        }
        if (e.entry && e.entry->present() &&
            (e.entry_kind == sim::EntryKind::LegacyContext ||
             e.entry_kind == sim::EntryKind::PasidEntry)) {
          // How many devices the hardware saw naming this DID, and how far
          // into the op: the ground DID aliasing (P5) grows on.
          Seen& sids = did_users(uint16_t(e.entry->get(sim::Field::DID)));
          sids.add(e.sid.v);
          uint64_t pgtt =
              e.entry_kind == sim::EntryKind::PasidEntry ? e.entry->get(sim::Field::PGTT) : 0;
          feature(0x0a, op, bucket(sids.n), std::min(stores_, 2u), uint32_t(pgtt));
        }
        break;
      case sim::EventKind::Dma:
        feature(0x09, op, e.fault != sim::FaultReason::None, e.count, std::min(stores_, 8u));
        break;
      default:
        break;
    }
  }
  // Distinct values, counted up to the last bucket (8): no allocation.
  struct Seen {
    uint64_t v[8];
    uint32_t n = 0;
    void add(uint64_t x) {
      for (uint32_t i = 0; i < n && i < 8; ++i)
        if (v[i] == x) return;
      if (n < 8) v[n] = x;
      n += n < 8 || n == 8;  // saturates at 9: bucket 5
    }
  };
  struct Tag {
    uint16_t did;
    uint32_t pasid_tag;
    Seen roots, requesters;
  };
  struct DidUsers {
    uint16_t did;
    Seen sids;
  };
  Tag& tag(uint16_t did, uint32_t pasid_tag) {
    for (Tag& t : tags_)
      if (t.did == did && t.pasid_tag == pasid_tag) return t;
    return tags_.emplace_back(Tag{did, pasid_tag, {}, {}});
  }
  Seen& did_users(uint16_t did) {
    for (DidUsers& u : did_users_)
      if (u.did == did) return u.sids;
    return did_users_.emplace_back(DidUsers{did, {}}).sids;
  }
  std::vector<Tag> tags_;            // IOTLB tags filled since their last invalidation
  std::vector<DidUsers> did_users_;  // DID -> devices whose entries named it
  std::map<uint16_t, std::vector<sim::Sid>> vfs_;  // VFs plugged for each PF

  const prog::Program& p_;
  sim::Machine m_;
  LiveUpdate lu_;
  std::unique_ptr<drv::Driver> d_;  // the running kernel's; none in the dark window
  oracle::Oracle o_;
  bool trace_;
  const Options& opt_;
  Result r_;
  trace::Recorder rec_{&r_.trace, m_.mem};  // what explain shows (Options::trace)
  const Op* op_ = nullptr;
  uint32_t stores_ = 0, waits_ = 0, choice_ = 0;
  uint32_t fail_nth_ = 0;  // the fail-nth of the API op running (restore makes its own driver)
  bool nested_ = false;
  uint64_t dma_value_ = 0xd0d0000000000000ull;
};

}  // namespace

std::string check(const prog::Program& p, const Options& o) {
  if (!p.viommu.empty()) return viommu::check(p, o);
  const std::string& writer = o.writer.empty() ? p.writer : o.writer;
  if (writer.empty()) return "the program names no writer (pass --writer)";
  if (!drv::writer_info(writer)) return "unknown writer '" + writer + "' (see ./vtdfuzz writers)";
  // The live-update flow the program (or the caller) names; a program
  // naming none still runs live-update ops, with the reference flow.
  const std::string& lu = o.lu.empty() ? p.lu : o.lu;
  if (!lu.empty() && !drv::lu_flow_info(lu))
    return "unknown live-update flow '" + lu + "' (see ./vtdfuzz flows)";
  return "";
}

Result run(const prog::Program& p, const Options& o) {
  if (!p.viommu.empty()) return viommu::run(p, o);  // a guest over a vIOMMU
  Result r;
  r.writer = o.writer.empty() ? p.writer : o.writer;
  r.lu = o.lu.empty() ? p.lu : o.lu;
  r.error = check(p, o);
  if (!r.error.empty()) return r;
  std::unique_ptr<drv::Writer> w = drv::make_writer(r.writer);
  // The reference flow is what a program naming none runs: the same
  // behaviour has the same signature whether or not it is named (a
  // writer's row of hunt, campaign and soak names it for every program).
  const std::string name =
      r.lu.empty() || r.lu == "reference" ? r.writer : r.writer + " lu=" + r.lu;
  auto runner = std::make_unique<Runner>(p, *w, r.lu.empty() ? "reference" : r.lu, name, o);
  Result got = runner->go();
  got.writer = r.writer;
  got.lu = r.lu;
  return got;
}

std::string summary_line(const Result& r) {
  const std::string who = "writer=" + (r.writer.empty() ? std::string("-") : r.writer) +
                          (r.lu.empty() ? "" : " lu=" + r.lu) +
                          (r.viommu.empty() ? "" : " viommu=" + r.viommu);
  if (!r.violated) return "vtdfuzz: clean " + who + " ops=" + std::to_string(r.ops_run);
  const oracle::Violation& v = r.violation;
  char sig[20];
  snprintf(sig, sizeof sig, "%016" PRIx64, v.signature);
  return std::string("vtdfuzz: VIOLATION ") + oracle::property_name(v.property) + " " + who +
         " sig=" + sig + " op=" + std::to_string(v.op_index) + " at " + v.point + ": " + v.what;
}

std::string report(const Result& r) {
  std::string s = summary_line(r) + "\n";
  if (!r.violated) return s;
  const oracle::Violation& v = r.violation;
  s += std::string("  property: ") + oracle::property_name(v.property) + " " +
       oracle::property_title(v.property) + "\n";
  s += "  op " + std::to_string(v.op_index) + ": " + v.op_text + " (at " + v.point + ")\n";
  s += "  signature: " + v.sig_text + "\n";
  for (const std::string& d : v.details) s += "  " + d + "\n";
  if (!v.events.empty()) {
    s += "  last hardware events:\n";
    for (const std::string& e : v.events) s += "    " + e + "\n";
  }
  return s;
}

minimize::Predicate same_signature(const std::string& writer, uint64_t signature,
                                   const std::string& viommu, const std::string& lu) {
  return [writer, signature, viommu, lu](const prog::Program& p) {
    Options o;
    o.writer = writer;
    o.viommu = viommu;
    o.lu = lu;
    Result r = run(p, o);
    return r.violated && r.violation.signature == signature;
  };
}

}  // namespace vtd::harness

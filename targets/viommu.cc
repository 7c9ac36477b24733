// The vIOMMU runner (targets/viommu.h): host machine and driver, the VMM
// (facade, virtual unit, propagator), the guest, and the judge.
#include "targets/viommu.h"

#include "prog/table.h"
#include "simulator/registers.h"
#include "targets/viommu_runner.h"

namespace vtd::viommu {

using prog::Arg;
using prog::Op;
using prog::OpKind;
using sim::Entry;
using sim::EntryKind;
using sim::Field;
using sim::PhysAddr;
using sim::Sid;

namespace {

uint32_t pasid_of(const Op& op) {  // no PASID: requests without one (PASID 0)
  const uint64_t a = op.get(Arg::Pasid);
  return a == prog::kNoPasidArg ? 0 : uint32_t(a - 1);
}

// A guest PASID entry from g.entry's fields (VTD-REFERENCE.md).
Entry entry_of(const Op& op) {
  Entry e(EntryKind::PasidEntry);
  e.set(Field::P, !op.get(Arg::Np))
      .set(Field::PGTT, op.get(Arg::Pgtt))
      .set(Field::DID, op.get(Arg::Did))
      .set(Field::FSPTPTR, op.get(Arg::Ptr))
      .set(Field::FSPM, op.get(Arg::Fspm));
  const uint64_t f = op.get(Arg::S1Flags);
  e.set(Field::SRE, (f & drv::kS1Sre) != 0).set(Field::EAFE, (f & drv::kS1Eafe) != 0);
  e.set(Field::WPE, (f & drv::kS1Wpe) != 0);
  return e;
}

// A guest descriptor from g.inv's fields; the G field as given (a
// granularity the type does not have is malformed: IQE).
sim::Descriptor descriptor_of(const Op& op, PhysAddr status, uint32_t data) {
  namespace desc = sim::desc;
  const uint16_t did = uint16_t(op.get(Arg::Did));
  const uint32_t pasid = pasid_of(op);
  const Sid sid(uint16_t(op.get(Arg::Dev)));
  sim::Descriptor d;
  bool has_g = true;
  switch (op.get(Arg::DescType)) {
    case 0:
      d = desc::context_device(did, sid);
      break;
    case 1:
      d = desc::iotlb_domain(did);
      break;
    case 2:
      d = desc::devtlb_all(sid);
      has_g = false;
      break;
    case 3:
      d = desc::piotlb_pasid(did, pasid);
      break;
    case 4:
      d = desc::pasid_cache_pasid(did, pasid);
      break;
    case 5:
      d = desc::pdevtlb_global(sid, pasid);
      has_g = false;
      break;
    default:
      return desc::wait(status, data);
  }
  if (has_g) d.w[0] = (d.w[0] & ~(3ull << 4)) | (op.get(Arg::Gran) & 3) << 4;
  return d;
}

}  // namespace

namespace detail {

Runner::Runner(const prog::Program& p, drv::Writer& host_writer, vmm::Propagator& prop,
               const std::string& prop_name, const std::string& guest_writer,
               const harness::Options& o)
    : p_(p),
      opt_(o),
      prop_name_(prop_name),
      m_(p.config),
      d_(m_.cpu0, host_writer),
      fd_(d_),
      unit_(m_.mem, m_.config(), fd_, prop),
      judge_(m_.mem, unit_, prop_name),
      gcpu_(kGuestCpu, m_.mem, unit_, true),
      two_level_(two_level(p)),
      guest_writer_name_(guest_writer),
      view_(unit_.guest_config(), m_.mem) {
  m_.set_schedule(this);
  gcpu_.set_schedule(this);
  m_.iommu.set_observer(this);
  fd_.set_observer(this);
  unit_.set_observer(this);
}

harness::Result Runner::go() {
  harness::Result& r = r_;
  if (!drv::ok(d_.init())) {
    r.error = "the host driver failed to initialise";
    return r;
  }
  if (two_level_ && !boot_guest(0)) {
    r.error = "the guest driver (writer '" + guest_writer_name_ + "') failed to initialise";
    return r;
  }
  for (uint32_t i = 0; i < p_.ops.size() && !judge_.violated() && !p14_; ++i) {
    const Op& op = p_.ops[i];
    ++r.ops_run;
    if (opt_.trace) r.trace.push_back({prog::op_text(op), "", {}});
    if (op.kind == OpKind::FailNth) {
      fail_next_ = uint32_t(op.get(Arg::N));
      continue;
    }
    // The n-th allocation of the next op fails: the guest driver's for a
    // call of it, else the host's (through the facade).
    const bool guest_api = two_level_ && op.kind >= OpKind::GDomain;
    if (fail_next_) {
      if (guest_api)
        gd_->fail_nth_alloc(fail_next_);
      else
        fd_.fail_nth_alloc(fail_next_);
    }
    fail_next_ = 0;
    op_ = &op;
    op_index_ = i;
    stores_ = waits_ = choice_ = 0;
    judge_.begin(i, prog::op_text(op), prog::op_name(op.kind));
    m_.mem.begin_epoch();
    const bool bracket = go_ && op.kind != OpKind::GReset;
    if (bracket) guest_begin(i, op);
    const drv::Status st = run_op(op);
    op_ = nullptr;
    fd_.clear_fail();
    judge_.end();
    if (bracket) guest_end(st);
    if (opt_.trace) r.trace.back().status = drv::status_name(st);
  }
  r.violated = judge_.violated() || p14_;
  if (judge_.violated())
    r.violation = judge_.violation();
  else if (p14_)
    r.violation = v14_;
  return r;
}

// vmm::VmmObserver: the judge sees everything; the trace keeps it.
void Runner::on_vmm_event(const vmm::VmmEvent& e) {
  judge_.on_vmm_event(e);
  if (e.kind == vmm::VmmEventKind::CallBegin) return;  // CallEnd says it all
  line([&] { return "vmm " + vmm::describe(e); });
}

// sim::Observer: the host's hardware; a DMA of an assigned device goes to
// the guest's oracle.
void Runner::on_event(const sim::HwEvent& e) {
  const bool inval = e.kind == sim::EventKind::CacheInval && e.count;
  if (inval || e.kind == sim::EventKind::Descriptor || e.kind == sim::EventKind::QueueError ||
      e.kind == sim::EventKind::Dma || e.kind == sim::EventKind::Fault)
    line([&] { return "  host hw " + sim::describe(e); });
  if (e.kind == sim::EventKind::Dma && go_) guest_dma(e);
}

uint32_t Runner::choose(sim::ChoiceKind, uint32_t n) {
  if (!op_ || choice_ >= op_->choices.size()) return 0;
  return op_->choices[choice_++] % n;
}

// sim::Schedule: every visible store, the guest's and the host's; at the
// host's, the op's schedule points run host steps (device DMA).
void Runner::preempt(const sim::PreemptPoint& pp) {
  if (pp.kind != sim::PointKind::Wait) {
    const char* who = pp.cpu == kGuestCpu ? "guest store " : "  host store ";
    line([&] {
      return who + std::string("[") + sim::hex(pp.pa) + "] = " + sim::hex(pp.value) + " (" +
             sim::page_type_name(m_.mem.type(pp.pa)) + ")";
    });
  }
  if (!op_ || pp.cpu != 0) return;
  const sim::PointKind kind =
      pp.kind == sim::PointKind::Wait ? sim::PointKind::Wait : sim::PointKind::Store;
  const uint32_t index = kind == sim::PointKind::Wait ? ++waits_ : ++stores_;
  if (go_) go_->point(kind, index);
  for (const prog::SchedPoint& sp : op_->sched)
    if (sp.kind == kind && sp.index == index) {
      line([&] {
        return "  @" + std::string(kind == sim::PointKind::Wait ? "wait " : "store ") +
               std::to_string(index) + ": " + prog::op_text(sp.step.front());
      });
      host_step(sp.step.front());
    }
}

drv::Status Runner::run_op(const Op& op) {
  const Sid sid(uint16_t(op.get(Arg::Dev)));
  if (prog::is_hw_step(op.kind)) {
    host_step(op);
    return drv::Status::Ok;
  }
  if (two_level_ && op.kind >= OpKind::GDomain) return guest_call(op);
  switch (op.kind) {
    case OpKind::Assign:
      return assign(Sid(uint16_t(op.get(Arg::Host))), sid);
    case OpKind::GDmar:
      unit_.set_remapping(vmm::Remap(op.get(Arg::Mode)));
      return drv::Status::Ok;
    case OpKind::GReset:
      unit_.reset();
      // The guest sets its root table and queue up again; a guest driver
      // boots anew (a reboot).
      if (two_level_) return boot_guest(op_index_) ? drv::Status::Ok : drv::Status::NoMem;
      if (root_) program_unit();
      return drv::Status::Ok;
    default:
      break;
  }
  // The raw guest's stores and descriptors; a guest driver owns its tables
  // and queue.
  if (two_level_) return drv::Status::Inval;
  switch (op.kind) {
    case OpKind::GEntry:
      return store_entry(sid, pasid_of(op), entry_of(op));
    case OpKind::GCtx:
      return store_context(sid, !op.get(Arg::Np));
    case OpKind::GInv:
      return queue(op);
    default:
      return drv::Status::Inval;  // the host is the VMM's: no host call here
  }
}

// ------------------------------------------------------------ the VMM --

// VFIO hands the host device to the guest: the host kernel probes it
// (PASID capable), the VMM binds it to iommufd, creates the nesting
// parent on the first device (guest RAM at GPA == HPA: one 1 GiB page)
// and attaches it there (the default HWPT) before the guest sees it; a
// guest driver probes it then.
drv::Status Runner::assign(Sid host, Sid guest) {
  if (d_.has_device(host) || guests_.count(guest.v)) return drv::Status::Exist;
  m_.iommu.device_plug(host, false);
  if (drv::Status st = d_.probe(host, {false, true}); !drv::ok(st)) return st;
  vmm::AssignedDevice a;
  a.guest = guest;
  a.host = host;
  if (drv::Status st = fd_.bind_device(host, &a.dev_id); !drv::ok(st)) return st;
  if (!parent_) {
    uint32_t parent = 0;
    if (drv::Status st = fd_.alloc_paging(a.dev_id, &parent); !drv::ok(st)) return st;
    // A parent without guest RAM would fault every DMA of each device
    // assigned later: the VMM frees it and the next device tries again.
    if (drv::Status st = fd_.map(parent, 0, 0, kGuestRam); !drv::ok(st)) {
      fd_.destroy(parent);  // nothing uses it: it cannot be busy
      return st;
    }
    parent_ = parent;
  }
  a.default_hwpt = parent_;
  if (drv::Status st = fd_.attach(a.dev_id, 0, parent_); !drv::ok(st)) return st;
  guests_[guest.v] = a;
  if (!two_level_) lay_out(guest);
  unit_.assign(a);
  return two_level_ ? gd_->probe(guest, {false, true}) : drv::Status::Ok;
}

// ---------------------------------------------------- the raw guest --

// The guest's structures for one device, as a guest kernel lays them out
// (scalable mode): root table, context table of its bus, a context entry
// with PASIDs enabled, a PASID directory and the table of PASIDs 0-63;
// and its invalidation queue (256-bit descriptors) and status page.
void Runner::lay_out(Sid guest) {
  if (!root_) {
    root_ = gcpu_.alloc_page(sim::PageType::Root);
    queue_ = gcpu_.alloc_page(sim::PageType::Queue);
    status_ = gcpu_.alloc_page(sim::PageType::Queue);
    program_unit();
  }
  const bool upper = guest.devfn() >= 128;
  const uint16_t bus_key = uint16_t(guest.bus() << 1 | upper);
  if (!ctx_tables_.count(bus_key)) {
    ctx_tables_[bus_key] = gcpu_.alloc_page(sim::PageType::Context);
    store(root_ + 16ull * guest.bus() + (upper ? 8 : 0), ctx_tables_[bus_key] | 1);
  }
  dirs_[guest.v] = gcpu_.alloc_page(sim::PageType::PasidDir);
  store_context(guest, true);
  table_for(guest, 0);
}

void Runner::program_unit() {
  unit_.mmio_write(sim::Reg::RTADDR, root_ | sim::rtaddr::TTM_SCALABLE);
  unit_.mmio_write(sim::Reg::IQA, queue_ | sim::iqa::DW);
  tail_ = 0;
}

void Runner::store(PhysAddr pa, uint64_t v) {
  gcpu_.write64(pa, v);
  gcpu_.wmb();
}

PhysAddr Runner::context_pa(Sid guest) const {
  const uint16_t bus_key = uint16_t(guest.bus() << 1 | (guest.devfn() >= 128));
  return ctx_tables_.at(bus_key) + 32ull * (guest.devfn() & 0x7f);
}

PhysAddr Runner::table_for(Sid guest, uint32_t pasid) {
  auto& t = tables_[{guest.v, pasid >> 6}];
  if (!t) {
    t = gcpu_.alloc_page(sim::PageType::PasidTable);
    store(dirs_.at(guest.v) + 8ull * (pasid >> 6), t | 1);
  }
  return t;
}

drv::Status Runner::store_context(Sid guest, bool present) {
  if (!guests_.count(guest.v) || !root_) return drv::Status::NoDev;
  sim::ScalableContextFields f;
  f.p = present;
  f.pasiddirptr = dirs_.at(guest.v);
  const Entry e = sim::encode(f);
  for (int i = 3; i >= 0; --i) store(context_pa(guest) + 8ull * i, e.w[size_t(i)]);
  return drv::Status::Ok;
}

drv::Status Runner::store_entry(Sid guest, uint32_t pasid, const Entry& e) {
  if (!guests_.count(guest.v) || pasid >= drv::kMaxPasid) return drv::Status::NoDev;
  const PhysAddr at = table_for(guest, pasid) + 64ull * (pasid & 0x3f);
  for (int i = 7; i >= 0; --i) store(at + 8ull * i, e.w[size_t(i)]);
  return drv::Status::Ok;
}

// One descriptor and, unless `nowait`, a wait; one tail write. After an
// IQE the guest does what Linux's qi_check_fault does: a wait over the
// bad descriptor, FSTS cleared.
drv::Status Runner::queue(const Op& op) {
  if (!root_) return drv::Status::NoDev;
  const uint32_t esz = 32, n = uint32_t(sim::kPageSize / esz);
  auto put = [&](const sim::Descriptor& d) {
    for (int i = 0; i < 4; ++i) store(queue_ + uint64_t(tail_) * esz + 8ull * i, d.w[size_t(i)]);
    tail_ = (tail_ + 1) % n;
  };
  const PhysAddr status = status_ + 8ull * tail_;
  put(descriptor_of(op, status, 1));
  if (!op.get(Arg::NoWait) && op.get(Arg::DescType) != 6)
    put(sim::desc::wait(status_ + 8ull * tail_, 1));
  gcpu_.mmio_write(sim::Reg::IQT, uint64_t(tail_) * esz);
  if (!(unit_.fsts() & sim::fsts::IQE)) return drv::Status::Ok;
  const uint64_t head = unit_.mmio_read(sim::Reg::IQH);
  const sim::Descriptor wait = sim::desc::wait(status_ + head / 4, 1);
  for (int i = 0; i < 4; ++i) store(queue_ + head + 8ull * i, wait.w[size_t(i)]);
  gcpu_.mmio_write(sim::Reg::FSTS, sim::fsts::IQE);
  return drv::Status::Io;
}

}  // namespace detail

namespace {
// The guest's writer: the program's (entry-sync when it names none).
std::string guest_writer(const prog::Program& p, const harness::Options& o) {
  const std::string& w = o.writer.empty() ? p.writer : o.writer;
  return w.empty() ? "entry-sync" : w;
}
}  // namespace

std::string check(const prog::Program& p, const harness::Options& o) {
  const std::string& viommu = o.viommu.empty() ? p.viommu : o.viommu;
  if (!vmm::propagator_info(viommu))
    return "unknown propagator '" + viommu + "' (see ./vtdfuzz propagators)";
  if (!p.config.scalable || !p.config.coherent)
    return "a vIOMMU program runs on a scalable, coherent host (config)";
  const std::string guest = guest_writer(p, o);
  if (detail::two_level(p) && !drv::writer_info(guest))
    return "unknown writer '" + guest + "' (see ./vtdfuzz writers)";
  return "";
}

harness::Result run(const prog::Program& p, const harness::Options& o) {
  harness::Result r;
  r.writer = o.writer.empty() ? p.writer : o.writer;
  r.viommu = o.viommu.empty() ? p.viommu : o.viommu;
  r.error = viommu::check(p, o);
  if (!r.error.empty()) return r;
  std::unique_ptr<vmm::Propagator> prop = vmm::make_propagator(r.viommu);
  const std::string guest = guest_writer(p, o);
  std::unique_ptr<drv::Writer> host = drv::make_writer(kHostWriter);
  auto runner = std::make_unique<detail::Runner>(p, *host, *prop, r.viommu, guest, o);
  harness::Result got = runner->go();
  got.writer = r.writer;
  got.viommu = r.viommu;
  return got;
}

}  // namespace vtd::viommu

#include "race/harness.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "driver/driver.h"
#include "driver/writer.h"
#include "oracle/reference.h"
#include "race/model.h"
#include "race/platform.h"
#include "simulator/caches.h"
#include "simulator/config.h"
#include "simulator/faults.h"
#include "simulator/schedule.h"
#include "simulator/walker.h"

namespace vtd::race {
namespace {

using drv::DomainId;
using drv::DomainType;
using drv::Status;
using sim::Sid;

// ----------------------------------------------------------- universe --

struct DevSpec {
  Sid sid;
  drv::DeviceCaps caps;
};
// Two functions on bus 0 (one context table), one in the upper half of
// bus 0's scalable context tables, one on bus 1.
const DevSpec kDevs[] = {
    {Sid(0, 1, 0), {true, true}},
    {Sid(0, 2, 0), {false, true}},
    {Sid(0, 16, 0), {false, false}},
    {Sid(1, 0, 0), {true, true}},
};
struct DomSpec {
  DomainId id;
  DomainType type;
  int levels;
};
const DomSpec kDoms[] = {
    {1, DomainType::SecondStage, 4}, {2, DomainType::SecondStage, 4},
    {3, DomainType::SecondStage, 5}, {4, DomainType::FirstStage, 4},
    {5, DomainType::FirstStage, 4},  {6, DomainType::FirstStage, 5},
    {7, DomainType::Identity, 4},
};
constexpr uint32_t kPasids[] = {1, 2};
const std::vector<sim::Iova> kIovas = {0x1000,     0x2000,     0x3000,       0x201000,
                                       0x40000000, 0x40200000, 0x8000000000, 0x7ff000000000};

// ---------------------------------------------------------------- ops --

// The calls the op streams make: iommu-core API calls of the op table
// (prog/ops.h), judged by the shared model (oracle/model.h).
using prog::OpKind;

struct Call {
  OpKind kind = OpKind::Probe;
  uint32_t dev = 0;  // index in kDevs
  DomainId dom = 0;
  uint32_t pasid = 0;
  sim::Iova iova = 0;
  sim::PhysAddr pa = 0;
  uint8_t perm = 0;
  std::string text() const {
    char b[160];
    const std::string s = kDevs[dev].sid.str();
    switch (kind) {
      case OpKind::Map:
        snprintf(b, sizeof b, "map dom %u iova 0x%llx pa 0x%llx %s", dom, (unsigned long long)iova,
                 (unsigned long long)pa, perm & drv::kWrite ? "rw" : "r");
        break;
      case OpKind::Unmap:
        snprintf(b, sizeof b, "unmap dom %u iova 0x%llx", dom, (unsigned long long)iova);
        break;
      case OpKind::Attach:
      case OpKind::Replace:
        snprintf(b, sizeof b, "%s %s dom %u", prog::op_name(kind), s.c_str(), dom);
        break;
      case OpKind::SetPasid:
        snprintf(b, sizeof b, "set-pasid %s pasid %u dom %u", s.c_str(), pasid, dom);
        break;
      case OpKind::RemovePasid:
        snprintf(b, sizeof b, "remove-pasid %s pasid %u", s.c_str(), pasid);
        break;
      default:
        snprintf(b, sizeof b, "%s %s", prog::op_name(kind), s.c_str());
    }
    return b;
  }
};

// What a thread wants to do next, drawn from its seed; resolved into a
// valid call against the state when it runs (the interleaving of threads is
// not deterministic, the stream of intents is).
enum class IntentKind : uint8_t { Attach, Pasid, Map, Hotplug };
struct Intent {
  IntentKind kind;
  uint32_t dev, dom, pasid, slot, page;
  uint8_t perm;
  bool surprise;
};

Intent next_intent(Rng& r, const sim::PhysMemory::Layout& l) {
  Intent in{};
  uint32_t k = r.below(100);
  in.kind = k < 30   ? IntentKind::Attach
            : k < 50 ? IntentKind::Pasid
            : k < 95 ? IntentKind::Map
                     : IntentKind::Hotplug;
  in.dev = r.below(std::size(kDevs));
  in.dom = r.below(std::size(kDoms));
  in.pasid = kPasids[r.below(std::size(kPasids))];
  in.slot = r.below(uint32_t(kIovas.size()));
  in.page = r.below(l.data_pages);
  in.perm = r.below(3) ? drv::kRead | drv::kWrite : drv::kRead;
  in.surprise = r.below(4) != 0;
  return in;
}

// ------------------------------------------------------------ walkers --

// The fetch order of a multi-quantum entry: the walker fetches the quantum
// holding P first (a fetch that finds P=0 stops, simulator/walker.h); this
// picks the order of the others at random.
class ChunkSchedule final : public sim::Schedule {
 public:
  explicit ChunkSchedule(uint64_t seed) : rng_(seed) {}
  uint32_t choose(sim::ChoiceKind k, uint32_t n) override {
    return k == sim::ChoiceKind::ChunkOrder ? rng_.below(n) : 0;
  }

 private:
  Rng rng_;
};

struct UnsafeReads {
  std::atomic<uint64_t> n{0};
  std::mutex mu;
  std::string first;
};

class WalkObserver final : public sim::Observer {
 public:
  explicit WalkObserver(UnsafeReads& u) : unsafe_(u) {}
  void begin(WalkRecord* r) { rec_ = r; }
  void on_event(const sim::HwEvent& e) override {
    if (e.kind == sim::EventKind::EntryFetched && e.entry) {
      switch (e.entry_kind) {
        case sim::EntryKind::LegacyContext:
        case sim::EntryKind::ScalableContext:
          rec_->entries.push_back({{e.sid.v, EntityKey::kContext}, *e.entry});
          break;
        case sim::EntryKind::PasidEntry:
          rec_->entries.push_back({{e.sid.v, e.pasid}, *e.entry});
          break;
        default:
          break;
      }
    } else if (e.kind == sim::EventKind::UnsafeRead) {
      if (unsafe_.n++ == 0) {
        std::lock_guard<std::mutex> g(unsafe_.mu);
        char b[200];
        snprintf(b, sizeof b,
                 "P6 unsafe read: a walk of %s pasid %u iova 0x%llx read 0x%llx (%s, page type %s)",
                 e.sid.str().c_str(), e.pasid, (unsigned long long)e.iova,
                 (unsigned long long)e.addr, sim::hazard_name(e.hazard),
                 sim::page_type_name(e.page_type));
        unsafe_.first = b;
      }
    }
  }

 private:
  UnsafeReads& unsafe_;
  WalkRecord* rec_ = nullptr;
};

// --------------------------------------------------------------- run --

class Harness {
 public:
  explicit Harness(const Options& o)
      : o_(o),
        cfg_(config(o)),
        mem_(true),
        hw_(cfg_, mem_, o.walkers),
        writer_(drv::make_writer(o.writer)) {}

  int run();

 private:
  static sim::Config config(const Options& o) {
    sim::Config c;
    c.scalable = true;
    c.coherent = true;
    c.quantum_bits = uint8_t(o.quantum);
    c.cpu128 = o.cpu128;
    return c;
  }
  bool setup();
  void cpu_thread(int index);
  void walker_thread(int index);
  void execute(RealCpu& cpu, const Intent& in);
  bool resolve(const Intent& in, int step, Call* c) const;
  Status call(RealCpu& cpu, const Call& c);
  oracle::ApiCall api_call(const Call& c) const;
  void run_call(RealCpu& cpu, const Call& c);
  void read_shapes(Sid sid, const drv::DeviceCaps& caps, State* s);

  const Options o_;
  const sim::Config cfg_;
  sim::PhysMemory mem_;
  Platform hw_;
  std::unique_ptr<drv::Writer> writer_;
  std::unique_ptr<RealCpu> cpu0_;
  std::unique_ptr<drv::Driver> drv_;
  std::unique_ptr<Model> model_;
  std::mutex core_;  // the iommu core: one API call at a time (harness.h)
  std::atomic<bool> stop_cpus_{false}, stop_walkers_{false};
  UnsafeReads unsafe_;
  // Under core_.
  uint64_t calls_[size_t(OpKind::kCount)] = {};
  uint64_t errors_ = 0;
  std::vector<std::string> error_text_;
  RealCpuStats cpu_stats_;
};

bool Harness::setup() {
  cpu0_ = std::make_unique<RealCpu>(0, hw_, o_.cpu128);
  drv_ = std::make_unique<drv::Driver>(*cpu0_, *writer_);
  if (const Status st = drv_->init(); !drv::ok(st)) {
    // A writer that does not support the platform (e.g. needs cmpxchg16b)
    // makes the driver refuse to initialise.
    error_text_.push_back(std::string("driver init -> ") + drv::status_name(st) + " (writer " +
                          o_.writer + " does not support this platform?)");
    return false;
  }
  State s;
  for (const DomSpec& d : kDoms) {
    if (!drv::ok(drv_->domain_alloc(d.id, d.type, 0, d.levels))) return false;
    oracle::ApiCall c;
    c.kind = OpKind::Domain;
    c.dom = d.id;
    c.dtype = d.type;
    s.model.begin(c);
    s.model.end(true);
  }
  model_ = std::make_unique<Model>(std::move(s), kIovas, o_.walkers);
  // Every device starts probed; the rest comes from the op streams.
  for (uint32_t i = 0; i < std::size(kDevs); ++i) {
    Call c;
    c.kind = OpKind::Probe;
    c.dev = i;
    run_call(*cpu0_, c);
  }
  return errors_ == 0;
}

// Resolves an intent against the current state (under core_). Hotplug is
// two calls: step 0 removes the device, step 1 probes it again.
bool Harness::resolve(const Intent& in, int step, Call* c) const {
  const State& s = model_->current();
  *c = Call();
  c->dev = in.dev;
  const Sid sid = kDevs[in.dev].sid;
  const oracle::Device* dev = s.model.device(sid);
  const bool present = dev != nullptr;
  if (in.kind != IntentKind::Map && !present) {
    c->kind = OpKind::Probe;  // a device that is gone comes back first
    return step == 0 || in.kind == IntentKind::Hotplug;
  }
  if (step > 0) return false;
  switch (in.kind) {
    case IntentKind::Attach: {
      c->dom = kDoms[in.dom].id;
      auto cur = dev->att.find(0);
      c->kind = cur == dev->att.end()   ? OpKind::Attach
                : cur->second == c->dom ? OpKind::Detach
                                        : OpKind::Replace;
      return true;
    }
    case IntentKind::Pasid: {
      if (!kDevs[in.dev].caps.pasid) {  // not PASID capable: its RID instead
        Intent a = in;
        a.kind = IntentKind::Attach;
        return resolve(a, step, c);
      }
      c->dom = kDoms[in.dom].id;
      c->pasid = in.pasid;
      auto cur = dev->att.find(in.pasid);
      c->kind =
          cur != dev->att.end() && cur->second == c->dom ? OpKind::RemovePasid : OpKind::SetPasid;
      return true;
    }
    case IntentKind::Map: {
      const DomSpec& d = kDoms[in.dom % (std::size(kDoms) - 1)];  // not the identity domain
      c->dom = d.id;
      c->iova = kIovas[in.slot];
      const auto& maps = s.model.domains().at(d.id).maps;
      if (maps.count(c->iova)) {
        c->kind = OpKind::Unmap;
      } else {
        c->kind = OpKind::Map;
        c->pa = mem_.layout().data_base + uint64_t(in.page) * sim::kPageSize;
        c->perm = in.perm;
      }
      return true;
    }
    case IntentKind::Hotplug:
      c->kind = in.surprise ? OpKind::SurpriseRemove : OpKind::Release;
      return true;
  }
  return false;
}

Status Harness::call(RealCpu& cpu, const Call& c) {
  const Sid sid = kDevs[c.dev].sid;
  drv::Driver& d = *drv_;
  switch (c.kind) {
    case OpKind::Probe:
      hw_.plug(sid);
      return d.probe(sid, kDevs[c.dev].caps);
    case OpKind::Release:
      return d.release(sid);
    case OpKind::SurpriseRemove:
      hw_.unplug(sid);
      return d.surprise_remove(sid);  // gone before the driver knows
    case OpKind::Attach:
      return d.attach(sid, c.dom);
    case OpKind::Replace:
      return d.replace(sid, c.dom);
    case OpKind::Detach:
      return d.detach(sid);
    case OpKind::SetPasid:
      return d.set_pasid(sid, c.pasid, c.dom);
    case OpKind::RemovePasid:
      return d.remove_pasid(sid, c.pasid);
    case OpKind::Map:
      return d.map(c.dom, c.iova, c.pa, sim::kPageSize, c.perm);
    case OpKind::Unmap:
      return d.unmap(c.dom, c.iova, sim::kPageSize);
    default:
      return Status::Inval;
  }
}

void Harness::read_shapes(Sid sid, const drv::DeviceCaps& caps, State* s) {
  // The entries as the hardware sees them now (nothing changes: the caller
  // holds the core mutex and the call returned).
  const uint64_t rt = hw_.rtaddr();
  auto put = [&](EntityKey k, const oracle::EntryLoc& at) {
    sim::Entry e = oracle::shape(oracle::read_now(mem_, at));
    if (e.present())
      s->shapes[k] = e;
    else
      s->shapes.erase(k);
  };
  oracle::Located l = oracle::locate(mem_, rt, sid, sim::kNoPasid);
  put({sid.v, EntityKey::kContext}, l.context);
  put({sid.v, 0}, l.pasid);
  for (uint32_t p : kPasids)
    put({sid.v, p}, caps.pasid ? oracle::locate(mem_, rt, sid, p).pasid : oracle::EntryLoc{});
}

// The call as the shared model sees it.
oracle::ApiCall Harness::api_call(const Call& c) const {
  oracle::ApiCall a;
  a.kind = c.kind;
  a.text = c.text();
  a.sid = kDevs[c.dev].sid;
  a.dom = c.dom;
  a.pasid = c.kind == OpKind::SetPasid || c.kind == OpKind::RemovePasid ? c.pasid : sim::kNoPasid;
  a.iova = c.iova;
  a.pa = c.pa;
  a.size = sim::kPageSize;
  a.perm = c.perm;
  a.ats = kDevs[c.dev].caps.ats;
  a.pasid_cap = kDevs[c.dev].caps.pasid;
  return a;
}

void Harness::run_call(RealCpu& cpu, const Call& c) {
  const bool device_op = c.kind != OpKind::Map && c.kind != OpKind::Unmap;
  const Sid sid = kDevs[c.dev].sid;
  drv_->set_cpu(&cpu);
  mem_.begin_epoch();
  model_->begin_op(c.text(), device_op ? std::vector<uint16_t>{sid.v} : std::vector<uint16_t>{});
  const Status st = call(cpu, c);
  State next = model_->current();
  ++calls_[size_t(c.kind)];
  if (!drv::ok(st)) {
    ++errors_;
    if (error_text_.size() < 5) error_text_.push_back(c.text() + " -> " + drv::status_name(st));
  }
  next.model.begin(api_call(c));
  next.model.end(drv::ok(st));
  if (device_op) read_shapes(sid, kDevs[c.dev].caps, &next);
  model_->end_op(std::move(next));
}

void Harness::execute(RealCpu& cpu, const Intent& in) {
  for (int step = 0; step < 2; ++step) {
    std::lock_guard<std::mutex> g(core_);
    Call c;
    if (!resolve(in, step, &c)) return;
    run_call(cpu, c);
  }
}

void Harness::cpu_thread(int index) {
  RealCpu cpu(index + 1, hw_, o_.cpu128);
  Rng rng(o_.seed * 0x100000001b3ull + uint64_t(index) + 1);
  while (!stop_cpus_.load(std::memory_order_relaxed)) execute(cpu, next_intent(rng, mem_.layout()));
  std::lock_guard<std::mutex> g(core_);
  const RealCpuStats& s = cpu.stats();
  cpu_stats_.plain += s.plain;
  cpu_stats_.once += s.once;
  cpu_stats_.wide += s.wide;
  cpu_stats_.fences += s.fences;
  cpu_stats_.relaxes += s.relaxes;
  cpu_stats_.stray += s.stray;
  cpu_stats_.illegal += s.illegal;
}

void Harness::walker_thread(int index) {
  const uint64_t seed = o_.seed * 0x9e3779b97f4a7c15ull + 1000 + uint64_t(index);
  Rng rng(seed);
  ChunkSchedule sched(seed ^ 0x5bd1e995);
  WalkObserver obs(unsafe_);
  sim::FaultLog faults;
  sim::HwContext hw;
  hw.cfg = &cfg_;
  hw.mem = &mem_;
  hw.faults = &faults;
  hw.obs = &obs;
  hw.schedule = &sched;
  hw.rtaddr = hw_.rtaddr();
  sim::Walker walker(hw);
  WalkerSlot& slot = hw_.walker(index);
  while (!stop_walkers_.load(std::memory_order_relaxed)) {
    WalkRecord rec;
    if (!model_->pick(index, rng, &rec)) {
      std::this_thread::yield();
      continue;
    }
    slot.gen.fetch_add(1, std::memory_order_seq_cst);  // odd: a walk in flight
    {
      sim::Caches caches;  // none kept: every walk reads memory
      hw.caches = &caches;
      obs.begin(&rec);
      sim::Walk w;
      walker.start(w, {rec.sid, rec.key ? rec.key : sim::kNoPasid, rec.iova, sim::Access::Read});
      while (!w.done()) {
        walker.step(w);
        if (!w.parked()) continue;
        // Between two quanta of one entry: the hardware takes its time.
        const uint32_t r = rng.below(16);
        if (r < 2) {
          std::this_thread::yield();
        } else if (r < 8) {
          for (uint32_t i = rng.below(2000); i; --i)
            std::atomic_signal_fence(std::memory_order_seq_cst);
        }
      }
      rec.done = true;
      rec.result = w.result();
      hw.caches = nullptr;
    }
    slot.gen.fetch_add(1, std::memory_order_release);  // even: done
    if (faults.entries().size() >= sim::FaultLog::kCapacity) faults.clear();
    model_->check(rec);
  }
}

int Harness::run() {
  if (!sim::PhysMemory::real_memory()) {
    fprintf(stderr,
            "vtdfuzz: the race harness needs the VTDFUZZ_REAL_MEMORY build (tsan preset)\n");
    return 2;
  }
  hw_.start();
  if (!setup()) {
    fprintf(stderr, "vtdfuzz: race harness setup failed%s%s\n", error_text_.empty() ? "" : ": ",
            error_text_.empty() ? "" : error_text_[0].c_str());
    hw_.stop();
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  std::vector<std::thread> walkers, cpus;
  for (int i = 0; i < o_.walkers; ++i) walkers.emplace_back([this, i] { walker_thread(i); });
  for (int i = 0; i < o_.cpus; ++i) cpus.emplace_back([this, i] { cpu_thread(i); });
  const auto deadline = t0 + std::chrono::duration<double>(o_.seconds);
  while (Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop_cpus_ = true;
  for (auto& t : cpus) t.join();
  stop_walkers_ = true;
  for (auto& t : walkers) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  hw_.stop();

  const ModelCounters c = model_->counters();
  const uint64_t unsafe = unsafe_.n.load();
  const uint64_t qerr = hw_.queue_errors();
  const bool bad = c.torn || c.p2 || unsafe || qerr || errors_ || cpu_stats_.illegal;
  printf(
      "vtdfuzz-race: writer %s, seed %llu, %.0f s, %d CPU threads, %d walker threads, quantum %d, "
      "cpu %s\n",
      o_.writer.c_str(), (unsigned long long)o_.seed, o_.seconds, o_.cpus, o_.walkers, o_.quantum,
      o_.cpu128 ? "cmpxchg16b" : "64-bit stores only");
  printf("ops: %llu (", (unsigned long long)c.ops);
  bool first = true;
  for (size_t i = 0; i < size_t(OpKind::kCount); ++i) {
    if (!calls_[i]) continue;
    printf("%s%s %llu", first ? "" : ", ", prog::op_name(OpKind(i)), (unsigned long long)calls_[i]);
    first = false;
  }
  printf("), %llu failed\n", (unsigned long long)errors_);
  printf("cpu stores: %llu plain, %llu once, %llu 128-bit, %llu barriers, %llu relax waits\n",
         (unsigned long long)cpu_stats_.plain, (unsigned long long)cpu_stats_.once,
         (unsigned long long)cpu_stats_.wide, (unsigned long long)cpu_stats_.fences,
         (unsigned long long)cpu_stats_.relaxes);
  printf("queue: %llu descriptors, %llu drains, %llu errors\n",
         (unsigned long long)hw_.descriptors(), (unsigned long long)hw_.drains(),
         (unsigned long long)qerr);
  printf(
      "translations checked: %llu (%.1f/s), entries judged: %llu, judged at op end: %llu, "
      "unchecked: %llu\n",
      (unsigned long long)c.walks, c.walks / elapsed, (unsigned long long)c.entries,
      (unsigned long long)c.pending, (unsigned long long)c.unchecked);
  printf("torn entries (P1): %llu\n", (unsigned long long)c.torn);
  printf("translation violations (P2): %llu\n", (unsigned long long)c.p2);
  printf("unsafe reads (P6): %llu\n", (unsigned long long)unsafe);
  for (const std::string& f : model_->findings()) printf("%s\n", f.c_str());
  if (unsafe) printf("%s\n", unsafe_.first.c_str());
  if (qerr) printf("P7 %s\n", hw_.first_queue_error().c_str());
  for (const std::string& e : error_text_) printf("op failed: %s\n", e.c_str());
  if (cpu_stats_.illegal)
    printf("illegal CPU operations: %llu\n", (unsigned long long)cpu_stats_.illegal);
  printf("summary torn=%llu p2=%llu p6=%llu p7=%llu errors=%llu tps=%.1f ops=%llu\n",
         (unsigned long long)c.torn, (unsigned long long)c.p2, (unsigned long long)unsafe,
         (unsigned long long)qerr, (unsigned long long)(errors_ + cpu_stats_.illegal),
         c.walks / elapsed, (unsigned long long)c.ops);
  printf("result: %s\n", bad ? "violation" : "clean");
  fflush(stdout);
  return bad ? 1 : 0;
}

}  // namespace

int run(const Options& o) {
  if (!drv::make_writer(o.writer)) {
    fprintf(stderr, "vtdfuzz: unknown writer '%s'\n", o.writer.c_str());
    return 2;
  }
  auto h = std::make_unique<Harness>(o);
  return h->run();
}

}  // namespace vtd::race

#include "race/platform.h"

#include <algorithm>

#include "simulator/iommu.h"

namespace vtd::race {

using sim::Reg;

Platform::Platform(const sim::Config& cfg, sim::PhysMemory& mem, int walkers)
    : cfg_(cfg), mem_(mem), queue_(cfg_, mem, qcaches_) {
  for (int i = 0; i < walkers; ++i) walkers_.push_back(std::make_unique<WalkerSlot>());
  queue_.set_observer(this);
  queue_.set_drain([this] { drain(); });
  queue_.set_device_present(
      [this](sim::Sid s) { return present_[s.v].load(std::memory_order_acquire) != 0; });
}

Platform::~Platform() {
  stop();
}

uint64_t Platform::mmio_read(Reg r) {
  std::lock_guard<std::mutex> g(hw_mu_);  // the queue thread changes IQH and FSTS
  return sim::read_register(r, cfg_, rtaddr(), queue_);
}

void Platform::mmio_write(Reg r, uint64_t v) {
  if (r == Reg::CAP || r == Reg::ECAP) return;  // read-only
  if (r == Reg::RTADDR) {
    rtaddr_.store(v, std::memory_order_release);
    return;
  }
  {
    std::lock_guard<std::mutex> g(hw_mu_);
    queue_.write(r, v);
  }
  work_cv_.notify_one();
}

void Platform::wait_progress() {
  std::unique_lock<std::mutex> l(hw_mu_);
  progress_cv_.wait(l, [&] { return stopping_ || queue_.idle(); });
}

void Platform::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Platform::stop() {
  {
    std::lock_guard<std::mutex> g(hw_mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  progress_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Platform::run() {
  std::unique_lock<std::mutex> l(hw_mu_);
  while (!stopping_) {
    if (queue_.idle()) {
      progress_cv_.notify_all();
      work_cv_.wait(l, [&] { return stopping_ || !queue_.idle(); });
      continue;
    }
    descriptors_ += queue_.process(UINT32_MAX);
    progress_cv_.notify_all();
  }
}

void Platform::drain() {
  // An invalidation completes only after the walks that may hold what it
  // invalidates are done (spec 6.5.2): wait for every walk in flight now.
  ++drains_;
  for (auto& w : walkers_) {
    const uint64_t g = w->gen.load(std::memory_order_acquire);
    if (!(g & 1)) continue;
    while (w->gen.load(std::memory_order_acquire) == g) std::this_thread::yield();
  }
}

void Platform::on_event(const sim::HwEvent& e) {
  if (e.kind != sim::EventKind::QueueError) return;
  if (queue_errors_++ == 0)
    first_error_ = "queue error fsts=0x" +
                   [&] {
                     char b[32];
                     snprintf(b, sizeof b, "%llx", (unsigned long long)e.v0);
                     return std::string(b);
                   }() +
                   " at descriptor " + sim::desc_type_name(e.desc_type);
}

std::string Platform::first_queue_error() const {
  std::lock_guard<std::mutex> g(hw_mu_);
  return first_error_;
}

std::mutex& Platform::lock_of(sim::LockId l) {
  std::lock_guard<std::mutex> g(locks_mu_);
  auto& m = locks_[l];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

// ------------------------------------------------------------- RealCpu --

void RealCpu::fence() {
  std::atomic_thread_fence(std::memory_order_release);
  fenced_ = true;
  ++stats_.fences;
}

int RealCpu::order() {
  int o = fenced_ ? __ATOMIC_RELEASE : __ATOMIC_RELAXED;
  fenced_ = false;
  return o;
}

uint64_t* RealCpu::word(sim::PhysAddr pa) {
  uint64_t* w = mem_.word_ptr(pa);
  if (!w) ++stats_.stray;
  return w;
}

void RealCpu::write64(sim::PhysAddr pa, uint64_t v) {
  ++stats_.plain;
  uint64_t* w = word(pa & ~7ull);
  if (!w) return;
  *w = v;  // a plain C store: the compiler and the hardware owe nothing to a concurrent reader
}

void RealCpu::write64_once(sim::PhysAddr pa, uint64_t v) {
  ++stats_.once;
  uint64_t* w = word(pa & ~7ull);
  if (!w) return;
  if (order() == __ATOMIC_RELEASE)
    __atomic_store_n(w, v, __ATOMIC_RELEASE);
  else
    __atomic_store_n(w, v, __ATOMIC_RELAXED);
}

void RealCpu::write128(sim::PhysAddr pa, uint64_t lo, uint64_t hi) {
  if (!has128_) {
    ++stats_.illegal;  // #UD without cmpxchg16b: nothing is stored
    return;
  }
  ++stats_.wide;
  if (pa & 15) {
    ++stats_.illegal;  // cmpxchg16b needs a 16-byte aligned operand
    return;
  }
  uint64_t* w = word(pa);
  if (!w) return;
  auto* p = reinterpret_cast<unsigned __int128*>(w);
  const unsigned __int128 v = (unsigned __int128)hi << 64 | lo;
  if (order() == __ATOMIC_RELEASE)
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
  else
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

void RealCpu::lock(sim::LockId l) {
  if (std::find(held_.begin(), held_.end(), l) != held_.end()) {
    ++stats_.illegal;  // would self-deadlock
    return;
  }
  hw_.lock_of(l).lock();
  held_.push_back(l);
}

void RealCpu::unlock(sim::LockId l) {
  auto it = std::find(held_.begin(), held_.end(), l);
  if (it == held_.end()) {
    ++stats_.illegal;
    return;
  }
  held_.erase(it);
  hw_.lock_of(l).unlock();
}

void RealCpu::relax() {
  // cpu_relax(): the driver spins a bounded number of times (driver/qi.cc),
  // calibrated on the model where each relax lets the queue run. On real
  // threads a bare yield could let it time out while the queue thread is
  // still draining walks, so each relax also waits for queue progress.
  ++stats_.relaxes;
  std::this_thread::yield();
  hw_.wait_progress();
}

}  // namespace vtd::race

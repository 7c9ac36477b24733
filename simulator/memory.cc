#include "simulator/memory.h"

#include <algorithm>

#include "simulator/flat_map.h"
#include "simulator/memory_page.h"

namespace vtd::sim {

// The parts of PhysMemory that differ between the model and real memory
// (page creation, the quantum load) are in memory_model.cc and
// memory_real.cc; simulator/CMakeLists.txt links one of them.

PhysMemory::PhysMemory(bool coherent, Layout layout, PagePool* pages)
    : coherent_(coherent), layout_(layout), pages_(pages) {
  pool_.reserve(64);  // a typical program's pages, grown once
  epoch_log_.reserve(64);
  epoch_freed_.reserve(16);               // the pages one op frees, grown once
  preserved_.resize(layout_.pool_pages);  // one bit a page (live update)
  make_pages();
}

PagePool::PagePool() = default;
PagePool::~PagePool() = default;

std::unique_ptr<PhysMemory::Page> PhysMemory::new_page(uint64_t dram) const {
  std::unique_ptr<Page> p;
  if (pages_ && !pages_->spare_.empty()) {
    // Everything a new Page holds (memory_page.h), bar the words, which
    // every maker of a page fills.
    p = std::move(pages_->spare_.back());
    pages_->spare_.pop_back();
    p->type = PageType::Free;
    p->born.store(false, std::memory_order_relaxed);
    p->epoch = 0;
    p->gen = 0;
    p->dirty = 0;
    p->stale = 0;
    p->log_epoch = 0;
    fill(p->tag, StoreTag(0));
    if (coherent_) p->dram.reset();
  } else {
    p = std::make_unique<Page>();
  }
  if (!coherent_) {
    if (!p->dram) p->dram = std::make_unique<std::array<uint64_t, kWords>>();
    fill(*p->dram, dram);
  }
  return p;
}

PhysMemory::~PhysMemory() {
  if (!pages_) return;
  for (auto* slots : {&pool_, &data_})
    for (std::unique_ptr<Page>& p : *slots)
      if (p) pages_->spare_.push_back(std::move(p));
  for (auto& [page, words] : epoch_freed_) pages_->spare_words_.push_back(std::move(words));
}

PhysMemory::Page* PhysMemory::page(PhysAddr pa) const {
  if (pa >= layout_.pool_base &&
      pa < layout_.pool_base + uint64_t(layout_.pool_pages) * kPageSize) {
    const size_t i = (pa - layout_.pool_base) >> kPageShift;
    Page* p = i < pool_.size() ? pool_[i].get() : nullptr;
    return p && p->born.load(std::memory_order_acquire) ? p : nullptr;
  }
  if (is_data(pa)) {
    const size_t i = (pa - layout_.data_base) >> kPageShift;
    return i < data_.size() ? data_[i].get() : nullptr;
  }
  return nullptr;
}

bool PhysMemory::is_data(PhysAddr pa) const {
  return pa >= layout_.data_base &&
         pa < layout_.data_base + uint64_t(layout_.data_pages) * kPageSize;
}

PhysMemory::Page* PhysMemory::page_or_create(PhysAddr pa) {
  if (Page* p = page(pa)) return p;
  if (!is_data(pa)) return nullptr;  // unallocated pool page or outside memory
  const size_t i = (pa - layout_.data_base) >> kPageShift;
  if (i >= data_.size()) data_.resize(i + 1);
  auto& slot = data_[i];
  slot = new_page(0);
  slot->type = PageType::Data;
  fill(slot->mem, uint64_t(0));
  slot->born.store(true, std::memory_order_release);
  return slot.get();
}

PhysAddr PhysMemory::alloc(PageType t) {
  uint32_t idx;
  if (!free_list_.empty()) {
    idx = free_list_.back();
    free_list_.pop_back();
  } else if (next_pool_ < layout_.pool_pages) {
    idx = next_pool_++;
  } else {
    return 0;
  }
  if (idx >= pool_.size()) pool_.resize(idx + 1);
  auto& slot = pool_[idx];
  if (!slot) slot = new_page(kPoison);
  Page* p = slot.get();
  p->type = t;
  p->epoch = epoch_;
  st(p->gen, ld(p->gen) + 1);  // read by walkers (P6: cached pointers into reused pages)
  fill(p->mem, uint64_t(0));
  fill(p->tag, StoreTag(0));
  if (!coherent_) {
    // The zeroing sits in the CPU cache: DRAM keeps what it had (poison)
    // until the driver flushes the page.
    dirty_count_ += kLines - size_t(__builtin_popcountll(p->dirty));
    p->dirty = ~0ull;
    p->stale = ~0ull;
  }
  p->born.store(true, std::memory_order_release);
  hw_changed(p);
  ++in_use_;
  ++epoch_allocs_;
  return layout_.pool_base + uint64_t(idx) * kPageSize;
}

void PhysMemory::free(PhysAddr pa) {
  Page* p = page(pa);
  if (!p || p->type == PageType::Free || p->type == PageType::Data) return;
  if (p->epoch != epoch_) {
    // The buffers of earlier epochs are reused: no allocation per free.
    if (freed_n_ == epoch_freed_.size()) {
      // Every word is written below: a buffer from the pool needs no reset.
      std::vector<uint64_t> w;
      if (pages_ && !pages_->spare_words_.empty()) {
        w = std::move(pages_->spare_words_.back());
        pages_->spare_words_.pop_back();
      } else {
        w.resize(kWords);
      }
      epoch_freed_.push_back({0, std::move(w)});
    }
    auto& [page, words] = epoch_freed_[freed_n_++];
    page = page_of(pa);
    copy_words(coherent_ ? p->mem : *p->dram, words.data());
  }
  p->type = PageType::Free;
  hw_changed(p);
  fill(p->mem, kPoison);
  fill(p->tag, StoreTag(0));
  if (p->dram) fill(*p->dram, kPoison);
  dirty_count_ -= size_t(__builtin_popcountll(p->dirty));
  p->dirty = 0;
  p->stale = 0;
  --in_use_;
  const uint32_t idx = uint32_t((page_of(pa) - layout_.pool_base) >> kPageShift);
  if (!preserved_[idx]) free_list_.push_back(idx);  // a preserved page stays out of the pool
}

uint32_t PhysMemory::generation(PhysAddr pa) const {
  Page* p = page(pa);
  return p ? ld(p->gen) : 0;
}

PageType PhysMemory::type(PhysAddr pa) const {
  if (Page* p = page(pa)) return p->type;
  return is_data(pa) ? PageType::Data : PageType::Free;
}

uint64_t PhysMemory::load(PhysAddr pa) const {
  if (Page* p = page(pa)) return ld(p->mem[(pa & (kPageSize - 1)) >> 3]);
  return is_data(pa) ? 0 : kPoison;
}

void PhysMemory::commit(PhysAddr pa, uint64_t v, StoreTag tag) {
  Page* p = page_or_create(pa);
  if (!p) return;  // a store to memory that does not exist goes nowhere
  uint32_t i = uint32_t((pa & (kPageSize - 1)) >> 3);
  if (coherent_) {
    const uint64_t old = ld(p->mem[i]);
    if (p->type != PageType::Data && old != v && p->epoch != epoch_) log_old(p, i, pa, old);
    hw_changed(p);
  } else {
    uint64_t bit = 1ull << (i / kWordsPerLine);
    if (!(p->dirty & bit) && p->type != PageType::Data) ++dirty_count_;
    if (p->type != PageType::Data) p->dirty |= bit;
  }
  st(p->mem[i], v);
  st(p->tag[i], tag);
}

StoreTag PhysMemory::last_tag(PhysAddr pa) const {
  if (Page* p = page(pa)) return ld(p->tag[(pa & (kPageSize - 1)) >> 3]);
  return 0;
}

bool PhysMemory::line_dirty(PhysAddr pa) const {
  Page* p = page(pa);
  return p && !coherent_ && (p->dirty >> ((pa & (kPageSize - 1)) / kLineSize) & 1);
}

void PhysMemory::writeback(PhysAddr pa) {
  Page* p = page(pa);
  if (!p || coherent_) return;
  uint32_t line = uint32_t((pa & (kPageSize - 1)) / kLineSize);
  if (!(p->dirty >> line & 1)) return;
  hw_changed(p);
  for (uint32_t k = 0; k < kWordsPerLine; ++k) {
    uint32_t i = line * kWordsPerLine + k;
    uint64_t& d = (*p->dram)[i];
    const uint64_t now = ld(p->mem[i]);
    if (d != now && p->type != PageType::Data && p->epoch != epoch_)
      log_old(p, i, page_of(pa) + i * 8, d);
    d = now;
  }
  if (p->type != PageType::Data) --dirty_count_;
  p->dirty &= ~(1ull << line);
  p->stale &= ~(1ull << line);
}

std::vector<PhysAddr> PhysMemory::dirty_lines() const {
  std::vector<PhysAddr> out;
  dirty_lines(&out);
  return out;
}

void PhysMemory::dirty_lines(std::vector<PhysAddr>* out_) const {
  std::vector<PhysAddr>& out = *out_;
  out.clear();
  if (coherent_) return;
  for (uint32_t i = 0; i < next_pool_ && dirty_count_; ++i) {
    const Page* p = pool_[i].get();
    if (!p || !p->dirty || p->type == PageType::Free) continue;
    for (uint32_t l = 0; l < kLines; ++l)
      if (p->dirty >> l & 1)
        out.push_back(layout_.pool_base + uint64_t(i) * kPageSize + l * kLineSize);
  }
}

uint64_t PhysMemory::hw_load(PhysAddr pa) const {
  Page* p = page(pa);
  if (!p) return is_data(pa) ? 0 : kPoison;
  uint32_t i = uint32_t((pa & (kPageSize - 1)) >> 3);
  return coherent_ ? ld(p->mem[i]) : (*p->dram)[i];
}

uint64_t* PhysMemory::word_ptr(PhysAddr pa) {
  Page* p = page(pa);
  return p ? &p->mem[(pa & (kPageSize - 1)) >> 3] : nullptr;
}

bool PhysMemory::hw_poisoned(PhysAddr pa) const {
  Page* p = page(pa);
  if (!p) return !is_data(pa);
  if (p->type == PageType::Free) return true;
  return !coherent_ && (p->stale >> ((pa & (kPageSize - 1)) / kLineSize) & 1);
}

void PhysMemory::hw_store(PhysAddr pa, uint64_t v) {
  Page* p = page_or_create(pa);
  if (!p) return;
  uint32_t i = uint32_t((pa & (kPageSize - 1)) >> 3);
  st(p->mem[i], v);
  st(p->tag[i], StoreTag(0));
  if (p->dram) (*p->dram)[i] = v;
  hw_changed(p);
}

void PhysMemory::hw_changed(Page* p) {
  st(p->hw_ver, hw_version_.fetch_add(1, std::memory_order_relaxed) + 1);
}

uint64_t PhysMemory::hw_version(PhysAddr pa) const {
  Page* p = page(pa);
  return p ? ld(p->hw_ver) : 0;
}

void PhysMemory::begin_epoch() {
  ++epoch_;
  epoch_log_.clear();
  freed_n_ = 0;
  epoch_allocs_ = 0;
}

// The first hardware-visible value of word i of page p this epoch, once.
void PhysMemory::log_old(Page* p, uint32_t i, PhysAddr pa, uint64_t old) {
  if (p->log_epoch != epoch_) {
    p->log_epoch = epoch_;
    p->logged.fill(0);
  }
  uint64_t& bits = p->logged[i / 64];
  if (bits >> (i % 64) & 1) return;
  bits |= 1ull << (i % 64);
  epoch_log_.push_back({pa & ~7ull, old});
}

uint64_t PhysMemory::epoch_value(PhysAddr pa) const {
  PhysAddr w = pa & ~7ull;
  const Page* lp = page(w);
  const uint32_t wi = uint32_t((w & (kPageSize - 1)) >> 3);
  if (lp && lp->log_epoch == epoch_ && (lp->logged[wi / 64] >> (wi % 64) & 1))
    for (const EpochOld& e : epoch_log_)
      if (e.pa == w) return e.v;
  for (size_t f = 0; f < freed_n_; ++f)
    if (epoch_freed_[f].first == page_of(w)) return epoch_freed_[f].second[(w - page_of(w)) >> 3];
  if (epoch_fresh(pa)) return 0;
  return hw_load(w);
}

bool PhysMemory::epoch_fresh(PhysAddr pa) const {
  Page* p = page(pa);
  return p && p->type != PageType::Data && p->epoch == epoch_;
}

// ------------------------------------------------------------- live update --

void PhysMemory::preserve(PhysAddr pa, bool on) {
  if (is_data(pa)) return;  // only pool pages are allocated, so only they are kept
  Page* p = page(pa);
  if (!p) return;
  const uint32_t idx = uint32_t((page_of(pa) - layout_.pool_base) >> kPageShift);
  if (on) {
    if (p->type != PageType::Free) preserved_[idx] = true;
    return;
  }
  if (!preserved_[idx]) return;
  preserved_[idx] = false;
  if (p->type == PageType::Free) free_list_.push_back(idx);  // freed while preserved
}

bool PhysMemory::preserved(PhysAddr pa) const {
  if (pa < layout_.pool_base || pa >= layout_.pool_base + uint64_t(layout_.pool_pages) * kPageSize)
    return false;
  return preserved_[(pa - layout_.pool_base) >> kPageShift];
}

size_t PhysMemory::kexec(PhysAddr kho) {
  for (uint32_t i = 0; i < next_pool_; ++i) {
    const Page* p = pool_[i].get();
    if (!p || !p->dirty) continue;
    for (uint32_t l = 0; l < kLines; ++l)
      if (p->dirty >> l & 1) writeback(layout_.pool_base + uint64_t(i) * kPageSize + l * kLineSize);
  }
  size_t freed = 0;
  for (uint32_t i = 0; i < next_pool_; ++i) {
    const Page* p = pool_[i].get();
    if (!p || !p->born.load(std::memory_order_acquire) || p->type == PageType::Free) continue;
    if (preserved_[i]) {
      preserved_[i] = false;  // handed over: the next kernel owns it
      continue;
    }
    free(layout_.pool_base + uint64_t(i) * kPageSize);
    ++freed;
  }
  kho_ = kho;
  return freed;
}

// ---------------------------------------------------------------- SimCpu --

SimCpu::SimCpu(int id, PhysMemory& mem, Mmio& mmio, bool has128)
    : id_(id), mem_(mem), mmio_(mmio), has128_(has128) {}

PhysAddr SimCpu::alloc_page(PageType t) {
  return mem_.alloc(t);
}

void SimCpu::free_page(PhysAddr page) {
  drain();  // no store may land on the page after it is gone
  mem_.free(page);
}

uint64_t SimCpu::read64(PhysAddr pa) {
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it)
    if (it->pa == pa) return it->v;  // store forwarding
  return mem_.load(pa);
}

void SimCpu::preempt(PointKind k, PhysAddr pa, uint64_t v) {
  if (schedule_) schedule_->preempt({k, id_, pa, v});
}

void SimCpu::make_visible(PhysAddr pa, uint64_t v, uint32_t seq) {
  mem_.commit(pa, v, StoreTag(uint32_t(id_) << 28 | (seq & 0x0fffffffu)));
  ++stats_.visible;
  // Descriptor writes are not preemption points: the queue is only read
  // after the tail register write, and the wait is a preemption point. Nor
  // are the stores of a KHO page: no hardware ever reads one.
  if (mem_.type(pa) != PageType::Queue && mem_.type(pa) != PageType::Kho)
    preempt(PointKind::Store, pa, v);
}

bool SimCpu::eligible(size_t i) const {
  const Pending& p = pending_[i];
  for (size_t j = 0; j < pending_.size(); ++j) {
    const Pending& q = pending_[j];
    if (q.seq >= p.seq) continue;
    if (q.pa == p.pa) return false;            // same word: program order
    if (p.ordered && q.ordered) return false;  // WRITE_ONCE: program order
  }
  return true;
}

void SimCpu::issue(PhysAddr pa, uint64_t v, bool ordered) {
  ++stats_.stores;
  uint32_t seq = ++seq_;
  uint32_t delay = 0;
  if (schedule_ && mem_.type(pa) != PageType::Queue && mem_.type(pa) != PageType::Kho)
    delay = schedule_->choose(ChoiceKind::StoreDelay, 8);
  // Two stores to one word never become visible out of program order (the
  // compiler may drop the earlier plain one, it may not swap them).
  if (!ordered) {
    for (size_t i = 0; i < pending_.size();) {
      if (pending_[i].pa == pa && !pending_[i].ordered)
        pending_.erase(pending_.begin() + long(i));
      else
        ++i;
    }
  }
  size_t older = pending_.size();
  pending_.push_back({pa, v, seq, delay, ordered});
  // The new store may overtake every older pending store...
  if (delay == 0 && eligible(older)) {
    pending_.erase(pending_.begin() + long(older));
    make_visible(pa, v, seq);
  }
  // ...and each older one counts one more overtaking store.
  for (size_t i = 0; i < pending_.size(); ++i)
    if (pending_[i].seq < seq && pending_[i].delay) --pending_[i].delay;
  tick();
}

void SimCpu::tick() {
  for (bool again = true; again;) {
    again = false;
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (pending_[i].delay || !eligible(i)) continue;
      Pending p = pending_[i];
      pending_.erase(pending_.begin() + long(i));
      make_visible(p.pa, p.v, p.seq);
      again = true;
      break;
    }
  }
}

void SimCpu::drain() {
  // At an ordering point everything still pending becomes visible, in
  // program order.
  while (!pending_.empty()) {
    Pending p = pending_.front();
    pending_.erase(pending_.begin());
    make_visible(p.pa, p.v, p.seq);
  }
}

void SimCpu::write64(PhysAddr pa, uint64_t v) {
  issue(pa, v, false);
}

void SimCpu::write64_once(PhysAddr pa, uint64_t v) {
  issue(pa, v, true);
}

void SimCpu::write128(PhysAddr pa, uint64_t lo, uint64_t hi) {
  if (!has128_) {
    ++stats_.illegal128;  // #UD on a CPU without cmpxchg16b: nothing is stored
    return;
  }
  drain();  // a locked (or asm-volatile) instruction orders everything before it
  ++stats_.stores;
  uint32_t seq = ++seq_;
  StoreTag tag = StoreTag(uint32_t(id_) << 28 | (seq & 0x0fffffffu));
  mem_.commit(pa, lo, tag);
  mem_.commit(pa + 8, hi, tag);
  ++stats_.visible;
  preempt(PointKind::Store, pa, lo);
}

void SimCpu::lock(LockId l) {
  drain();
  room(locks_, 8);
  locks_.push_back(l);
}

void SimCpu::unlock(LockId l) {
  drain();
  auto it = std::find(locks_.begin(), locks_.end(), l);
  if (it != locks_.end()) locks_.erase(it);
}

bool SimCpu::holds(LockId l) const {
  return std::find(locks_.begin(), locks_.end(), l) != locks_.end();
}

void SimCpu::clflush(PhysAddr pa, size_t len) {
  drain();
  if (mem_.coherent() || len == 0) return;
  for (PhysAddr line = pa & ~(kLineSize - 1); line < pa + len; line += kLineSize) {
    if (!mem_.line_dirty(line)) continue;
    mem_.writeback(line);
    preempt(PointKind::Writeback, line, 0);
  }
}

uint64_t SimCpu::mmio_read(Reg r) {
  return mmio_.mmio_read(r);
}

void SimCpu::mmio_write(Reg r, uint64_t v) {
  drain();  // writel() orders prior stores
  mmio_.mmio_write(r, v);
}

void SimCpu::relax() {
  drain();
  preempt(PointKind::Wait, 0, 0);
  mmio_.idle_progress();
}

bool SimCpu::pending_before(PhysAddr page, StoreTag t) const {
  if (tag_cpu(t) != id_) return false;
  for (const Pending& p : pending_)
    if (page_of(p.pa) == page && p.seq < tag_seq(t)) return true;
  return false;
}

}  // namespace vtd::sim

// PhysMemory's page store, private to simulator/memory*.cc: one page and the
// accesses to its words. Every access the simulator makes to a memory word,
// a tag, a generation or a page type is atomic (acquire loads, release
// stores: plain moves on x86), so that the real-memory variant's hardware
// threads (memory_real.cc, race/) read them while CPU threads write them;
// the only plain accesses left are the CPU's plain stores through
// PhysMemory::word_ptr (race/ maps CpuMemory::write64 to them): those are
// what ThreadSanitizer reports. Single-threaded, they are ordinary accesses.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "simulator/memory.h"

namespace vtd::sim {

constexpr uint32_t kWords = kPageSize / 8;
constexpr uint32_t kLines = kPageSize / kLineSize;
constexpr uint32_t kWordsPerLine = kLineSize / 8;

template <typename T>
T ld(const T& w) {
  return __atomic_load_n(&w, __ATOMIC_ACQUIRE);
}
template <typename T>
void st(T& w, T v) {
  __atomic_store_n(&w, v, __ATOMIC_RELEASE);
}
// Whole-page fills (allocation, free, poison). Only the real-memory
// variant has hardware threads reading while a page is filled; the model's
// fill is a plain one. The array is a member of a live page, so the
// sanitizers have nothing to check per word and coverage no edge to count:
// instrumented, std::array::fill stayed a loop with an ASan check, two
// UBSan checks and a counter per word (8% of the fuzz build's profile,
// issue 16); this one is a vectorised loop or a memset.
template <typename T, size_t N>
__attribute__((no_sanitize("address", "undefined", "coverage"))) void fill(std::array<T, N>& a,
                                                                           T v) {
  if (!PhysMemory::real_memory()) {
    T* w = a.data();
    for (size_t i = 0; i < N; ++i) w[i] = v;
    return;
  }
  for (T& w : a) __atomic_store_n(&w, v, __ATOMIC_RELAXED);
}

// A whole page's words copied out (PhysMemory::free keeps what the
// hardware saw), for the same reason as fill: a plain copy in the model, a
// word-by-word load where hardware threads may be storing.
template <size_t N>
__attribute__((no_sanitize("address", "undefined", "coverage"))) void copy_words(
    const std::array<uint64_t, N>& a, uint64_t* out) {
  if (!PhysMemory::real_memory()) {
    const uint64_t* w = a.data();
    for (size_t i = 0; i < N; ++i) out[i] = w[i];
    return;
  }
  for (size_t i = 0; i < N; ++i) out[i] = __atomic_load_n(&a[i], __ATOMIC_ACQUIRE);
}

struct PhysMemory::Page {
  std::atomic<PageType> type{PageType::Free};
  // A pool page: allocated at least once (page() finds it). The real-memory
  // variant makes every page up front; the model makes a page when it is
  // first allocated or stored to.
  std::atomic<bool> born{false};
  uint32_t epoch = 0;   // epoch of the last allocation
  uint32_t gen = 0;     // allocations of this page so far
  uint64_t hw_ver = 0;  // PhysMemory::hw_version at the last change the hardware can see
  uint64_t dirty = 0;   // non-coherent: lines not yet written back
  uint64_t stale = 0;   // non-coherent: lines whose DRAM still holds poison
  // Words already in the epoch log, valid while log_epoch is the memory's
  // epoch: the log is searched only for words that are in it.
  uint32_t log_epoch = 0;
  std::array<uint64_t, kWords / 64> logged{};
  alignas(16) std::array<uint64_t, kWords> mem;  // 16: one 128-bit quantum is one atomic load
  std::array<StoreTag, kWords> tag{};
  std::unique_ptr<std::array<uint64_t, kWords>> dram;  // non-coherent only
};

}  // namespace vtd::sim

// splitmix64: the one seeded stream behind every pseudo-random choice in the
// tree (the race harness's op streams, the structure-aware mutator, the
// tests' byte strings), so the same seed gives the same run.
#pragma once

#include <cstdint>

namespace vtd::sim {

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }  // 0 when n is 0
};

}  // namespace vtd::sim

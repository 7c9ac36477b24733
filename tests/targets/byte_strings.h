// Byte strings of every length up to 300 from a seeded generator (the same
// strings every run), biased to small values so the decoder meets op kinds,
// references and schedule points, not just noise; every other one starts
// with the current version.
#pragma once

#include <cstdint>
#include <vector>

#include "simulator/rng.h"
#include "prog/program.h"

namespace vtd::prog {

inline std::vector<std::vector<uint8_t>> byte_strings(size_t n) {
  std::vector<std::vector<uint8_t>> out;
  sim::Rng s(42);
  for (size_t i = 0; i < n; ++i) {
    std::vector<uint8_t> b(s.next() % 300);
    for (uint8_t& x : b) {
      uint64_t r = s.next();
      x = uint8_t(r % 4 == 0 ? r >> 8 : (r >> 8) % 24);
    }
    if (!b.empty() && i % 2) b[0] = kVersion;
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace vtd::prog

// Domain-ID allocator: DID 0 is reserved (spec: with CM=1 it tags cached
// not-present entries), DID 1 is Linux's FLPT_DEFAULT_DID for pass-through
// and SVA, domains get the lowest free DID from 2, so a freed DID is reused
// at once (which is what makes a missing flush on reuse visible, B12).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vtd::drv {

class DidAllocator {
 public:
  static constexpr uint16_t kDefaultDid = 1;
  static constexpr uint16_t kFirst = 2;

  explicit DidAllocator(uint16_t count = 256) : used_(count, false) {}
  uint16_t alloc();  // 0 when exhausted
  void free(uint16_t did);
  // Live update: a DID the previous kernel's preserved entries carry is
  // never handed out (false when it is out of range or already taken).
  bool reserve(uint16_t did);
  bool used(uint16_t did) const { return did < used_.size() && used_[did]; }
  size_t in_use() const;

 private:
  std::vector<bool> used_;
};

}  // namespace vtd::drv

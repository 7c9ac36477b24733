#include "driver/did.h"

namespace vtd::drv {

uint16_t DidAllocator::alloc() {
  for (size_t d = kFirst; d < used_.size(); ++d) {
    if (!used_[d]) {
      used_[d] = true;
      return uint16_t(d);
    }
  }
  return 0;
}

bool DidAllocator::reserve(uint16_t did) {
  if (did < kFirst || did >= used_.size() || used_[did]) return false;
  used_[did] = true;
  return true;
}

void DidAllocator::free(uint16_t did) {
  if (did >= kFirst && did < used_.size()) used_[did] = false;
}

size_t DidAllocator::in_use() const {
  size_t n = 0;
  for (bool b : used_) n += b;
  return n;
}

}  // namespace vtd::drv

// A stack whose popped elements keep their storage: the next push gets the
// slot back with the buffers of its containers, so a stack pushed and
// popped once per op (the oracle's calls in flight) allocates only while
// it is deeper than ever before. push() returns the slot as the last pop
// left it: the caller sets every field. A reference stays valid after pop()
// until the next push() that grows the stack.
#pragma once

#include <cstddef>
#include <vector>

namespace vtd::sim {

template <typename T>
class SlotStack {
 public:
  T& push() {
    if (n_ == v_.size()) v_.emplace_back();
    return v_[n_++];
  }
  void pop() { --n_; }
  bool empty() const { return n_ == 0; }
  size_t size() const { return n_; }
  T& back() { return v_[n_ - 1]; }
  const T& back() const { return v_[n_ - 1]; }
  T& front() { return v_[0]; }
  const T& front() const { return v_[0]; }
  const T* begin() const { return v_.data(); }
  const T* end() const { return v_.data() + n_; }

 private:
  std::vector<T> v_;
  size_t n_ = 0;
};

}  // namespace vtd::sim

// A map over a sorted vector, for the few-entry maps every execution
// rebuilds (a page table's tables, the model's domains and devices): the
// same order and, for the calls it has, the same behaviour as the std::map
// it replaces, with one allocation instead of one per node. Unlike a
// std::map, an insert or erase moves the entries: no reference into it
// survives one. Under ASan every allocation costs a stack unwind
// and a trip through the quarantine: the allocator was a quarter of the
// fuzz build's profile (issue 16).
#pragma once

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

namespace vtd::sim {

template <typename K, typename V>
class FlatMap {
 public:
  using value_type = std::pair<K, V>;

  V& operator[](const K& k) {
    auto it = lower(v_, k);
    if (it == v_.end() || it->first != k) {
      if (v_.capacity() == 0) {  // one allocation for the usual few entries
        v_.reserve(8);
        it = v_.end();
      }
      it = v_.insert(it, value_type(k, V{}));
    }
    return it->second;
  }
  auto find(const K& k) { return found(v_, k); }
  auto find(const K& k) const { return found(v_, k); }
  size_t count(const K& k) const { return found(v_, k) != v_.end(); }
  const V& at(const K& k) const {
    auto it = found(v_, k);
    if (it == v_.end()) throw std::out_of_range("FlatMap::at");
    return it->second;
  }
  // The first entry whose key is above `k`.
  auto upper_bound(const K& k) const {
    return std::upper_bound(v_.begin(), v_.end(), k,
                            [](const K& key, const value_type& e) { return key < e.first; });
  }
  void erase(const K& k) {
    auto it = found(v_, k);
    if (it != v_.end()) v_.erase(it);
  }
  auto erase(typename std::vector<value_type>::const_iterator it) { return v_.erase(it); }
  void clear() { v_.clear(); }
  size_t size() const { return v_.size(); }
  bool empty() const { return v_.empty(); }
  auto begin() { return v_.begin(); }
  auto end() { return v_.end(); }
  auto begin() const { return v_.begin(); }
  auto end() const { return v_.end(); }

 private:
  template <typename Vec>
  static auto lower(Vec& v, const K& k) {
    return std::lower_bound(v.begin(), v.end(), k,
                            [](const value_type& e, const K& key) { return e.first < key; });
  }
  template <typename Vec>
  static auto found(Vec& v, const K& k) {
    auto it = lower(v, k);
    return it != v.end() && it->first == k ? it : v.end();
  }
  std::vector<value_type> v_;
};

// Room for `n` at once in a buffer refilled during an execution: grown by
// doubling from empty in every execution, such buffers were a fifth of the
// oracle's allocations (heaptrack, issue 16).
template <typename T>
void room(std::vector<T>& v, size_t n) {
  if (v.capacity() < n) v.reserve(n);
}

}  // namespace vtd::sim

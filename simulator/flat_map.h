// A map over a sorted vector, for the few-entry maps every execution
// rebuilds (a page table's tables): the same order and, for the calls it
// has, the same behaviour as the std::map it replaces, with one allocation
// instead of one per node. Under ASan every allocation costs a stack unwind
// and a trip through the quarantine: the allocator was a quarter of the
// fuzz build's profile (issue 16).
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

namespace vtd::sim {

template <typename K, typename V>
class FlatMap {
 public:
  using value_type = std::pair<K, V>;

  V& operator[](const K& k) {
    auto it = lower(k);
    if (it == v_.end() || it->first != k) {
      if (v_.capacity() == 0) {  // one allocation for the usual few entries
        v_.reserve(8);
        it = v_.end();
      }
      it = v_.insert(it, value_type(k, V{}));
    }
    return it->second;
  }
  void erase(const K& k) {
    auto it = lower(k);
    if (it != v_.end() && it->first == k) v_.erase(it);
  }
  void clear() { v_.clear(); }
  auto begin() { return v_.begin(); }
  auto end() { return v_.end(); }
  auto begin() const { return v_.begin(); }
  auto end() const { return v_.end(); }

 private:
  typename std::vector<value_type>::iterator lower(const K& k) {
    return std::lower_bound(v_.begin(), v_.end(), k,
                            [](const value_type& e, const K& key) { return e.first < key; });
  }
  std::vector<value_type> v_;
};

}  // namespace vtd::sim

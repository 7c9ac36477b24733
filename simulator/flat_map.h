// A map over a sorted vector, for the few-entry maps every execution
// rebuilds (a page table's tables, a domain's mappings): the same order and
// the same calls as std::map where it replaces one, with one allocation when
// it grows instead of one per node. Under ASan every allocation costs a
// stack unwind and a trip through the quarantine: the allocator was a
// quarter of the fuzz build's profile (issue 16).
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

namespace vtd::sim {

template <typename K, typename V>
class FlatMap {
 public:
  using value_type = std::pair<K, V>;
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

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
  iterator find(const K& k) {
    auto it = lower(k);
    return it != v_.end() && it->first == k ? it : v_.end();
  }
  const_iterator find(const K& k) const {
    auto it = std::lower_bound(v_.begin(), v_.end(), k,
                               [](const value_type& e, const K& key) { return e.first < key; });
    return it != v_.end() && it->first == k ? it : v_.end();
  }
  size_t count(const K& k) const { return find(k) != v_.end(); }
  size_t erase(const K& k) {
    auto it = find(k);
    if (it == v_.end()) return 0;
    v_.erase(it);
    return 1;
  }
  iterator erase(iterator it) { return v_.erase(it); }
  void clear() { v_.clear(); }
  size_t size() const { return v_.size(); }
  bool empty() const { return v_.empty(); }
  iterator begin() { return v_.begin(); }
  iterator end() { return v_.end(); }
  const_iterator begin() const { return v_.begin(); }
  const_iterator end() const { return v_.end(); }

 private:
  iterator lower(const K& k) {
    return std::lower_bound(v_.begin(), v_.end(), k,
                            [](const value_type& e, const K& key) { return e.first < key; });
  }
  std::vector<value_type> v_;
};

}  // namespace vtd::sim

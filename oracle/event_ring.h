// The last events an observer saw, for a report: each kept as a copy with
// what its two pointers pointed at, and where in the op it came, and
// described only when a finding is reported (describing every event as it
// came was 5% of a fuzz run). The oracle keeps the simulator's events, the
// vIOMMU judge the VMM's.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace vtd::oracle {

template <typename Event, typename A, const A* Event::*kA, typename B, const B* Event::*kB,
          typename Point>
class EventRing {
 public:
  static constexpr size_t kEvents = 24;

  void add(const Event& e, const Point& at) {
    Slot& s = slots_[next_++ % kEvents];
    s.e = e;
    s.has_a = e.*kA != nullptr;
    if (s.has_a) s.a = *(e.*kA);
    s.has_b = e.*kB != nullptr;
    if (s.has_b) s.b = *(e.*kB);
    s.e.*kA = nullptr;  // the copies stand for them (restored in texts())
    s.e.*kB = nullptr;
    s.at = at;
  }

  // Oldest first, `describe(event, point)` of each event kept.
  template <typename Describe>
  std::vector<std::string> texts(Describe describe) const {
    std::vector<std::string> out;
    for (size_t i = 0; i < kEvents; ++i) {
      if (next_ + i < kEvents) continue;  // a slot never filled
      const Slot& s = slots_[(next_ + i) % kEvents];
      Event e = s.e;
      e.*kA = s.has_a ? &s.a : nullptr;
      e.*kB = s.has_b ? &s.b : nullptr;
      out.push_back(describe(e, s.at));
    }
    return out;
  }

 private:
  struct Slot {
    Event e;
    A a;
    B b;
    bool has_a = false, has_b = false;
    Point at;
  };
  std::array<Slot, kEvents> slots_{};
  size_t next_ = 0;
};

}  // namespace vtd::oracle

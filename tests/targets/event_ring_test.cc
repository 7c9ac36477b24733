// The oracle's and the vIOMMU judge's ring of last events (oracle/event_ring.h):
// what a violation report prints as "last events" must be the last ones,
// oldest first, as they were when they came.
#include "oracle/event_ring.h"

#include <gtest/gtest.h>

#include <string>

namespace {

struct Ev {
  int n = 0;
  const std::string* text = nullptr;  // stands for an event's entry pointer
  const int* word = nullptr;          // and its second one
};
using Ring = vtd::oracle::EventRing<Ev, std::string, &Ev::text, int, &Ev::word, int>;

std::vector<std::string> texts(const Ring& r) {
  return r.texts([](const Ev& e, int at) {
    return std::to_string(e.n) + "@" + std::to_string(at) + ":" + (e.text ? *e.text : "-") + ":" +
           (e.word ? std::to_string(*e.word) : "-");
  });
}

TEST(EventRing, FewerEventsThanItHolds_OnlyThoseOldestFirst) {
  Ring r;
  for (int i = 0; i < 3; ++i) r.add(Ev{i, nullptr, nullptr}, 10 + i);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"0@10:-:-", "1@11:-:-", "2@12:-:-"}));
}

TEST(EventRing, AfterWrapAround_TheLastKEventsOldestFirst) {
  Ring r;
  const int total = int(Ring::kEvents) + 7;
  for (int i = 0; i < total; ++i) r.add(Ev{i, nullptr, nullptr}, i);
  const std::vector<std::string> t = texts(r);
  ASSERT_EQ(t.size(), Ring::kEvents);
  for (size_t i = 0; i < t.size(); ++i) {
    const int n = total - int(Ring::kEvents) + int(i);
    EXPECT_EQ(t[i], std::to_string(n) + "@" + std::to_string(n) + ":-:-");
  }
}

TEST(EventRing, KeepsWhatThePointersPointedAt_NotThePointers) {
  Ring r;
  {
    std::string entry = "SSPTPTR=0x1000 DID=5";
    int word = 7;
    r.add(Ev{1, &entry, &word}, 0);
    entry = "changed after the event";
    word = 8;
  }  // both gone: the ring must not point at them
  r.add(Ev{2, nullptr, nullptr}, 1);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"1@0:SSPTPTR=0x1000 DID=5:7", "2@1:-:-"}));
}

}  // namespace

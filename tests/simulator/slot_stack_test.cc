// sim::SlotStack (simulator/slot_stack.h): the oracle's and the model's calls
// in flight, pushed and popped once per op, must not allocate once the stack
// has been as deep before.
#include "simulator/slot_stack.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

using Stack = vtd::sim::SlotStack<std::vector<int>>;

TEST(SlotStack, PushAfterPop_GivesTheSameSlotWithItsBuffer) {
  Stack s;
  std::vector<int>& first = s.push();
  first.assign(100, 1);
  const int* buffer = first.data();
  s.pop();
  EXPECT_TRUE(s.empty());
  std::vector<int>& again = s.push();
  EXPECT_EQ(&again, &first);
  EXPECT_EQ(again.size(), 100u);  // as the last pop left it: the caller sets it
  again.clear();
  again.push_back(2);
  EXPECT_EQ(again.data(), buffer);  // no new allocation
}

TEST(SlotStack, IteratesOnlyTheLiveSlots_BottomToTop) {
  Stack s;
  for (int i = 0; i < 3; ++i) s.push() = {i};
  s.pop();
  s.push() = {9};
  s.push() = {10};
  s.pop();
  ASSERT_EQ(s.size(), 3u);
  std::vector<int> seen;
  for (const std::vector<int>& v : s) seen.push_back(v.at(0));
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 9}));
  EXPECT_EQ(s.front().at(0), 0);
  EXPECT_EQ(s.back().at(0), 9);
}

}  // namespace

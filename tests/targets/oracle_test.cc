// The DID aliasing of seeds/001 (Jason Gunthorpe: "you've corrupted the DID
// and corrupted IOTLB for the second innocent device"): an in-place
// first-stage replace that stores the new table before the new DID is a
// torn entry at its first store (P1 judges the DID, issue 20), whether or
// not another device shares the old DID; correct writers make the same
// replace clean. Also: the harness's engine features never change a verdict
// and are the same on every run.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "prog/program.h"
#include "targets/harness.h"

namespace vtd {
namespace {

// 00:02.0 and 00:03.0 share first-stage domain 1; 00:02.0 moves to domain
// 2 and translates between the replace's first store and its last.
constexpr const char* kSharedReplace = R"(config scalable coherent quantum=128 cpu128
probe dev=00:02.0
probe dev=00:03.0
domain 1 first-stage
domain 2 first-stage
map 2 iova=0x0 pa=0x81000 rw
attach dev=00:02.0 domain=1
attach dev=00:03.0 domain=1
replace dev=00:02.0 domain=2
  @store 1: dma dev=00:02.0 iova=0x0 read
)";

prog::Program program(const std::string& text) {
  prog::Program p;
  std::string err;
  EXPECT_TRUE(prog::parse(text, &p, &err)) << err;
  return p;
}

harness::Result run(const std::string& text, const char* writer) {
  harness::Options o;
  o.writer = writer;
  return harness::run(program(text), o);
}

TEST(P1, NewTableUnderTheOldDid_IsTornAtTheFirstStore) {
  harness::Result r = run(kSharedReplace, "fs-inplace-did");
  ASSERT_TRUE(r.violated);
  EXPECT_EQ(r.violation.property, oracle::Property::P1) << harness::report(r);
  EXPECT_EQ(r.violation.op_index, 7u);
  EXPECT_EQ(r.violation.point, "store 1");
  EXPECT_NE(r.violation.what.find("the DID of one with the tables of the other"), std::string::npos)
      << r.violation.what;
}

TEST(P1, TheSameReplaceByCorrectWriters_IsClean) {
  for (const char* w : {"entry-sync", "entry-sync-tempdid", "teardown-replace"}) {
    harness::Result r = run(kSharedReplace, w);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_FALSE(r.violated) << w << ": " << harness::report(r);
  }
}

TEST(P1, WithoutASecondDeviceOnTheOldDomain_TheInPlaceReplaceIsStillTorn) {
  std::string alone = kSharedReplace;
  alone.erase(alone.find("attach dev=00:03.0 domain=1\n"), 28);
  harness::Result r = run(alone, "fs-inplace-did");
  ASSERT_TRUE(r.violated);
  EXPECT_EQ(r.violation.property, oracle::Property::P1) << harness::report(r);
}

std::vector<uint32_t> features(const prog::Program& p, const char* writer, bool* violated) {
  std::vector<uint32_t> f;
  harness::Options o;
  o.writer = writer;
  o.feature = [](uint32_t x, void* ctx) { static_cast<std::vector<uint32_t>*>(ctx)->push_back(x); };
  o.feature_ctx = &f;
  *violated = harness::run(p, o).violated;
  return f;
}

TEST(HarnessFeatures, AreDeterministic_AndNeverChangeTheVerdict) {
  for (const char* w : {"fs-inplace-did", "entry-sync"}) {
    prog::Program p = program(kSharedReplace);
    bool v1 = false, v2 = false;
    std::vector<uint32_t> a = features(p, w, &v1), b = features(p, w, &v2);
    EXPECT_FALSE(a.empty());
    EXPECT_EQ(a, b) << w;
    harness::Options plain;
    plain.writer = w;
    EXPECT_EQ(v1, harness::run(p, plain).violated) << w;
  }
}

TEST(HarnessFeatures, SharingTheOldDomain_IsANewFeature) {
  // What lets the engine keep a step towards B5 before any violation.
  std::string alone = kSharedReplace;
  alone.erase(alone.find("attach dev=00:03.0 domain=1\n"), 28);
  bool v = false;
  std::vector<uint32_t> shared = features(program(kSharedReplace), "entry-sync", &v);
  std::vector<uint32_t> single = features(program(alone), "entry-sync", &v);
  bool new_one = false;
  for (uint32_t f : shared) new_one |= std::find(single.begin(), single.end(), f) == single.end();
  EXPECT_TRUE(new_one);
}

}  // namespace
}  // namespace vtd

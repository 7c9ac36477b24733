// corpus/regress: programs on which the oracle, the harness or the driver
// once got it wrong (each file says how). The correct writers must replay
// every one of them clean, forever.
#include <gtest/gtest.h>

#include "targets/harness.h"
#include "prog/program.h"
#include "tests/catalog/catalog_util.h"

namespace vtd::catalogtest {
namespace {

std::vector<std::filesystem::path> regressions() {
  return files_in(source_dir() / "corpus" / "regress", ".txt");
}

class Regression : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(Regression, CorrectWritersReplayClean) {
  prog::Program p;
  std::string err;
  ASSERT_TRUE(prog::parse(read_file(GetParam()), &p, &err)) << err;
  for (const char* w : {"entry-sync", "entry-sync-tempdid", "teardown-replace"}) {
    harness::Options o;
    o.writer = w;
    harness::Result r = harness::run(p, o);
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_FALSE(r.violated) << w << ": " << harness::report(r);
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, Regression, ::testing::ValuesIn(regressions()),
                         [](const ::testing::TestParamInfo<std::filesystem::path>& i) {
                           return identifier(i.param.stem().string());
                         });

TEST(RegressCorpus, IsNotEmpty) {
  EXPECT_GE(regressions().size(), 8u);
}

}  // namespace
}  // namespace vtd::catalogtest

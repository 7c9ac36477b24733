// corpus/regress: programs on which the oracle, the harness or the driver
// once got it wrong (each file says how). The correct writers must replay
// every one of them clean, forever.
#include <gtest/gtest.h>

#include "prog/program.h"
#include "targets/harness.h"
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

// A regression that the oracle once missed names the writer it must catch,
// and the property, on a `# expect: <property> <writer>` line.
TEST_P(Regression, NamedWriterIsCaughtWithTheNamedProperty) {
  const std::string text = read_file(GetParam());
  std::string property, writer;
  read_expect(text, &property, &writer);
  if (writer.empty()) GTEST_SKIP() << "no '# expect:' line: the oracle never missed this one";
  prog::Program p;
  std::string err;
  ASSERT_TRUE(prog::parse(text, &p, &err)) << err;
  harness::Options o;
  o.writer = writer;
  harness::Result r = harness::run(p, o);
  ASSERT_TRUE(r.violated) << writer << " replayed clean";
  EXPECT_EQ(oracle::property_name(r.violation.property), property) << harness::report(r);
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

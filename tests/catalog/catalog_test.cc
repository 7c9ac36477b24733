// The bug catalog (DESIGN.md sections 7, 12 and 13): each
// corpus/catalog/Bnn-*.txt names the flow it reproduces and, on a
// `# expect: <property> <name>` line, what the oracle must say. <name> is the
// buggy writer; for a live-update reproducer (B15-B28, a program with an `lu`
// line) the buggy live-update flow; for a vIOMMU program (B29-B37) the buggy
// propagator. The buggy one is caught with that property; the correct
// writers (entry-sync, entry-sync-tempdid) with the `reference` flow, and the
// `reference` propagator, run the same schedule clean.
#include <gtest/gtest.h>

#include <cstdio>

#include "oracle/oracle.h"
#include "prog/program.h"
#include "targets/harness.h"
#include "tests/catalog/catalog_util.h"

namespace vtd::catalogtest {
namespace {

constexpr int kCatalogSize = 28;
const char* const kCorrectWriters[] = {"entry-sync", "entry-sync-tempdid"};
constexpr int kViommuFirst = 29, kViommuLast = 37;  // DESIGN.md section 13
const char* const kCorrectPropagator = "reference";

std::filesystem::path catalog_dir() {
  return source_dir() / "corpus" / "catalog";
}

struct Reproducer {
  std::filesystem::path path;
  std::string stem;      // B02-pasid-zeroed-while-present
  std::string property;  // from `# expect:`, e.g. P1
  std::string writer;    // from `# expect:`: a writer, e.g. legacy, a flow or a propagator
};

// How gtest shows a parameter (ctest lists it beside the test name).
void PrintTo(const Reproducer& r, std::ostream* os) {
  *os << r.path.filename().string() << " (expect " << r.property << " " << r.writer << ")";
}

std::vector<Reproducer> reproducers() {
  std::vector<Reproducer> out;
  for (const auto& p : files_in(catalog_dir(), ".txt")) {
    Reproducer r;
    r.path = p;
    r.stem = p.stem().string();
    read_expect(read_file(p), &r.property, &r.writer);
    out.push_back(r);
  }
  return out;
}

std::string param_name(const ::testing::TestParamInfo<Reproducer>& info) {
  return identifier(info.param.stem + "_on_" + info.param.writer);
}

class CatalogReproducer : public ::testing::TestWithParam<Reproducer> {
 protected:
  void SetUp() override {
    const Reproducer& r = GetParam();
    ASSERT_FALSE(r.property.empty()) << r.path << ": no '# expect: <property> <writer>' line";
    ASSERT_FALSE(r.writer.empty()) << r.path << ": the expect line names no writer";
    std::string err;
    ASSERT_TRUE(prog::parse(read_file(r.path), &program, &err)) << r.path << ": " << err;
  }

  // A live-update reproducer names its flow, a vIOMMU program its
  // propagator; the writer is then the program's (the guest's).
  bool live_update() const { return !program.lu.empty(); }
  bool viommu() const { return !program.viommu.empty(); }
  harness::Result run(const std::string& name) const {
    harness::Options o;
    if (viommu()) {
      o.viommu = name;
    } else {
      o.writer = live_update() ? program.writer : name;
      o.lu = live_update() ? name : "";
    }
    return harness::run(program, o);
  }
  harness::Result run_correct(const std::string& writer) const {
    harness::Options o;
    o.writer = writer;
    if (live_update()) o.lu = "reference";
    return harness::run(program, o);
  }

  prog::Program program;
};

TEST_P(CatalogReproducer, NamesTheWriterItExpects) {
  EXPECT_EQ(viommu()        ? program.viommu
            : live_update() ? program.lu
                            : program.writer,
            GetParam().writer)
      << "the program's writer (lu, viommu) line and its '# expect:' line disagree";
}

TEST_P(CatalogReproducer, BuggyWriterViolatesExpectedProperty) {
  const Reproducer& r = GetParam();
  harness::Result res = run(r.writer);
  ASSERT_TRUE(res.error.empty()) << res.error;
  ASSERT_TRUE(res.violated) << r.stem << " ran clean on " << r.writer << "; expected "
                            << r.property;
  EXPECT_EQ(oracle::property_name(res.violation.property), r.property) << harness::report(res);
}

TEST_P(CatalogReproducer, CorrectWritersAreClean) {
  if (viommu()) {
    harness::Result res = run(kCorrectPropagator);
    ASSERT_TRUE(res.error.empty()) << res.error;
    EXPECT_FALSE(res.violated) << harness::report(res);
    EXPECT_EQ(res.ops_run, program.ops.size());
    return;
  }
  for (const char* w : kCorrectWriters) {
    harness::Result res = run_correct(w);
    ASSERT_TRUE(res.error.empty()) << w << ": " << res.error;
    EXPECT_FALSE(res.violated) << w << ":\n" << harness::report(res);
    EXPECT_EQ(res.ops_run, program.ops.size()) << w;
  }
}

INSTANTIATE_TEST_SUITE_P(Catalog, CatalogReproducer, ::testing::ValuesIn(reproducers()),
                         param_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CatalogReproducer);

std::string missing_ids(int first, int last) {
  std::vector<std::string> names;
  for (const auto& p : files_in(catalog_dir(), ".txt")) names.push_back(p.filename().string());
  std::string missing;
  for (int i = first; i <= last; ++i) {
    char id[8];
    snprintf(id, sizeof id, "B%02d", i);
    bool found = false;
    for (const std::string& n : names) found |= n.rfind(std::string(id) + "-", 0) == 0;
    if (!found) missing += std::string(missing.empty() ? "" : " ") + id;
  }
  return missing;
}

TEST(Catalog, HasEveryBugB01ToB28) {
  const std::string missing = missing_ids(1, kCatalogSize);
  EXPECT_TRUE(missing.empty()) << "corpus/catalog lacks reproducers for: " << missing;
}

TEST(Catalog, HasEveryVIommuBugB29ToB37) {
  const std::string missing = missing_ids(kViommuFirst, kViommuLast);
  EXPECT_TRUE(missing.empty()) << "corpus/catalog lacks reproducers for: " << missing;
}

// Same input, same violation, byte for byte (DESIGN.md section 6).
TEST(Catalog, ReplayIsDeterministic) {
  std::vector<Reproducer> all = reproducers();
  ASSERT_FALSE(all.empty());
  // Prefer a reproducer with a second CPU and DMAs in its schedule.
  Reproducer r = all.front();
  for (const Reproducer& x : all)
    if (x.stem.rfind("B06-", 0) == 0) r = x;
  prog::Program p;
  std::string err;
  ASSERT_TRUE(prog::parse(read_file(r.path), &p, &err)) << err;
  harness::Options o;
  o.writer = r.writer;
  const std::string first = harness::report(harness::run(p, o));
  ASSERT_NE(first.find("VIOLATION"), std::string::npos) << first;
  for (int i = 1; i < 20; ++i)
    ASSERT_EQ(harness::report(harness::run(p, o)), first) << "replay " << i;
}

}  // namespace
}  // namespace vtd::catalogtest

// sim::PagePool (simulator/memory.h): the fuzz targets and the bench hand
// one input's memory pages, and the copies of freed pages' words, to the
// next machine. A taken page or buffer is reset to what a new one holds, so
// a run from a pool left by other programs must say exactly what a run on
// fresh memory says. Every catalog reproducer, regression and ops seed, in
// order, through one pool, against each on its own.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "prog/program.h"
#include "simulator/memory.h"
#include "targets/harness.h"
#include "tests/catalog/catalog_util.h"

namespace vtd::catalogtest {
namespace {

struct Loaded {
  std::string name;
  prog::Program program;
};

std::vector<Loaded> every_program() {
  std::vector<Loaded> out;
  for (const char* sub : {"catalog", "regress", "ops"})
    for (const char* ext : {".txt", ".bin"})
      for (const auto& path : files_in(corpus_dir(sub), ext)) {
        const std::string text = read_file(path);
        Loaded l;
        l.name = path.filename().string();
        std::string error;
        if (!prog::load({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, &l.program,
                        &error)) {
          ADD_FAILURE() << l.name << ": " << error;
          continue;
        }
        out.push_back(std::move(l));
      }
  return out;
}

std::string verdict(const prog::Program& p, sim::PagePool* pool) {
  harness::Options o;
  if (p.writer.empty() && p.viommu.empty()) o.writer = "entry-sync";
  o.pages = pool;
  const harness::Result r = harness::run(p, o);
  return r.error.empty() ? harness::report(r) : "error: " + r.error;
}

TEST(PagePool, APooledRunSaysWhatAFreshRunSays) {
  const std::vector<Loaded> programs = every_program();
  ASSERT_GT(programs.size(), 60u);
  std::vector<std::string> fresh;
  for (const Loaded& l : programs) fresh.push_back(verdict(l.program, nullptr));
  sim::PagePool pool;
  // Twice through: the second pass starts from the pages and buffers of
  // every program of the first.
  for (int pass = 1; pass <= 2; ++pass)
    for (size_t i = 0; i < programs.size(); ++i)
      EXPECT_EQ(verdict(programs[i].program, &pool), fresh[i])
          << programs[i].name << " (pass " << pass << ")";
  EXPECT_GT(pool.spare(), 0u) << "no run handed its pages to the pool";
}

}  // namespace
}  // namespace vtd::catalogtest

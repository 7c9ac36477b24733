// `vtdfuzz-cli bench`: walks per second through a scalable-mode, 4-level
// second-stage mapping, with cold caches (every cache invalidated before
// each walk) and warm caches (IOTLB hit); then the fuzzing line: the
// release core's programs/s over the seed corpus, the fuzz build's exec/s
// (libFuzzer; ASan and UBSan on the code under test) over a fixed time
// from the same seeds, and their ratio; then the release core over the
// inputs the fuzz run kept, and that ratio (what instrumentation and the
// engine cost on programs of one kind). Wall-clock timing lives here
// only: these are figures, not tests.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "prog/program.h"
#include "simulator/machine.h"
#include "simulator/table_builder.h"
#include "targets/harness.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/hunt.h"
#include "tools/process.h"

namespace vtd::tools {
namespace {

constexpr uint64_t kDefaultIterations = 200000;

double per_second(uint64_t n, std::chrono::steady_clock::duration d) {
  double s = std::chrono::duration<double>(d).count();
  return s > 0 ? double(n) / s : 0.0;
}

int walks(uint64_t iterations) {
  sim::Config cfg;
  cfg.scalable = true;
  sim::Machine m(cfg);
  sim::TableBuilder b(m);
  const sim::Sid sid(0, 2, 0);
  const uint16_t did = 2;
  const sim::Iova iova = 0x7f12345000ull;  // distinct index at every level
  const sim::PhysAddr pa = sim::data_page(7);
  sim::PageTables ss = b.new_tables(false, 4);
  b.map(ss, iova, pa);
  b.set_context(sid, sim::ScalableContextFields{});
  b.set_pasid_entry(sid, 0, sim::TableBuilder::pasid_fields(sim::kPgttSecond, did, &ss, nullptr));

  const sim::WalkRequest req{sid, sim::kNoPasid, iova, sim::Access::Read};
  sim::Caches& caches = m.iommu.caches();
  auto check = [&](const sim::Translation& t, bool want_iotlb) {
    if (!t.ok() || t.pa != pa || t.from_iotlb != want_iotlb)
      throw std::runtime_error(std::string("bench: unexpected translation (") +
                               sim::fault_reason_name(t.fault) + ")");
  };

  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < iterations; ++i) {
    caches.ctx_inv_global();
    caches.pasid_inv_global();
    caches.iotlb_inv(true, 0, sim::kNoPasid, sim::AddrRange{}, false);
    sim::Translation t = m.iommu.translate(req);
    if (i == 0) check(t, false);
  }
  auto cold = Clock::now() - t0;

  check(m.iommu.translate(req), true);  // the last cold walk filled the IOTLB
  t0 = Clock::now();
  for (uint64_t i = 0; i < iterations; ++i) {
    sim::Translation t = m.iommu.translate(req);
    if (i == 0) check(t, true);
  }
  auto warm = Clock::now() - t0;

  std::printf("walks/s cold %.0f  warm %.0f  (iterations %llu, 4-level second stage)\n",
              per_second(iterations, cold), per_second(iterations, warm),
              (unsigned long long)iterations);
  return 0;
}

struct Seeds {
  std::string dir;
  std::vector<prog::Program> programs;
};

// Every file of `dir` as the ops target reads it (binary).
Seeds load_programs(const std::string& dir) {
  Seeds s;
  s.dir = dir;
  for (const std::string& f : list_dir(s.dir)) {
    std::string b = read_text(s.dir + "/" + f);
    s.programs.push_back(prog::decode({reinterpret_cast<const uint8_t*>(b.data()), b.size()}));
  }
  return s;
}

Seeds load_seeds() {
  Seeds s = load_programs(repo_root() + "/corpus/ops");
  if (s.programs.empty()) throw UsageError("no seeds in " + s.dir);
  return s;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct CoreFigure {
  double per_second = 0, per_cpu_second = 0;
};

// The release core: every seed program through the harness (no engine, no
// features), passes over the seeds until `seconds` have gone by.
// `fuzzed`: inputs a fuzz run kept; one naming a flow or propagator that
// does not exist is refused at once, as the fuzz target refuses it.
CoreFigure core_programs_per_second(const Seeds& s, const std::string& writer, double seconds,
                                    bool fuzzed = false) {
  harness::Options o;
  o.writer = writer;
  sim::PagePool pages;  // as the fuzz target runs them
  o.pages = &pages;
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const double cpu0 = cpu_seconds();
  uint64_t runs = 0;
  double spent = 0;
  do {
    for (const prog::Program& p : s.programs) {
      harness::Result r = harness::run(p, o);
      if (!r.error.empty() && !fuzzed) throw UsageError(r.error);
    }
    runs += s.programs.size();
    spent = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (spent < seconds);
  const double cpu = cpu_seconds() - cpu0;
  return {double(runs) / spent, cpu > 0 ? double(runs) / cpu : 0};
}

// The abstract-state features one program marks (the ops target's extra
// counters: distinct values of the hash modulo 8192), mean and max over
// the seeds.
void features_per_program(const Seeds& s, const std::string& writer) {
  struct Marks {
    std::vector<uint8_t> seen = std::vector<uint8_t>(8192);
    size_t n = 0;
  };
  harness::Options o;
  o.writer = writer;
  o.feature = [](uint32_t f, void* ctx) {
    Marks& m = *static_cast<Marks*>(ctx);
    uint8_t& c = m.seen[f % m.seen.size()];
    m.n += c == 0;
    c = 1;
  };
  size_t total = 0, most = 0;
  for (const prog::Program& p : s.programs) {
    Marks m;
    o.feature_ctx = &m;
    harness::run(p, o);
    total += m.n;
    most = std::max(most, m.n);
  }
  std::printf("features/program %.0f mean, %zu max  (abstract-state marks, seeds of corpus/ops)\n",
              double(total) / double(s.programs.size()), most);
}

struct FuzzFigure {
  double exec_per_sec = 0;
  double exec_per_cpu_sec = 0;  // on a loaded machine, what one core would do
  uint64_t execs = 0, features = 0, corpus = 0;
};

// The fuzz build of the ops target, as hunt runs it (max_len, dictionary),
// for `seconds` from the seed corpus; a fresh working corpus each time and
// a fixed engine seed. The figure still depends on the inputs the run
// keeps, which a time limit makes differ between runs (idle machine: 1,626
// and 2,251 exec/s with a random seed, 1,657 to 1,964 with this one): quote
// a median.
FuzzFigure fuzz_exec_per_second(const Seeds& s, const std::string& writer, double seconds) {
  const std::string bin = target_binary("libfuzzer", "ops");
  if (!file_exists(bin))
    throw UsageError("no fuzz build of the ops target (" + bin + "): ./vtdfuzz build fuzz");
  const std::string out = repo_root() + "/out/bench";
  remove_tree(out);
  make_dirs(out + "/corpus");
  std::vector<std::string> argv = {bin,
                                   "-max_total_time=" + std::to_string(int(seconds + 0.5)),
                                   "-print_final_stats=1",
                                   "-timeout=10",
                                   "-seed=1",
                                   "-artifact_prefix=" + out + "/"};
  for (const std::string& o : libfuzzer_options("ops")) argv.push_back(o);
  const std::string dict = repo_root() + "/corpus/ops.dict";
  if (file_exists(dict)) argv.push_back("-dict=" + dict);
  argv.push_back(out + "/corpus");
  argv.push_back(s.dir);
  ProcResult p = run_process(argv, {"VTDFUZZ_WRITER=" + writer, "ASAN_OPTIONS=detect_leaks=0"},
                             seconds + 60, out + "/fuzz.log");
  auto last = [&](const std::string& key) -> uint64_t {
    size_t at = p.log.rfind(key);
    return at == std::string::npos ? 0 : strtoull(p.log.c_str() + at + key.size(), nullptr, 10);
  };
  FuzzFigure f;
  f.execs = last("stat::number_of_executed_units: ");
  f.exec_per_sec = double(last("stat::average_exec_per_sec: "));
  f.exec_per_cpu_sec = p.cpu > 0 ? double(f.execs) / p.cpu : 0;
  f.features = last(" ft: ");
  f.corpus = last(" corp: ");
  if (!f.execs)
    throw std::runtime_error("the fuzz run printed no statistics (" + out + "/fuzz.log)");
  return f;
}

struct Args {
  uint64_t iterations = kDefaultIterations;
  double fuzz_seconds = 30;
  std::string writer = "entry-sync";
};

int bench(const Args& a) {
  walks(a.iterations);
  const Seeds s = load_seeds();
  const CoreFigure core = core_programs_per_second(s, a.writer, 3.0);
  std::printf(
      "programs/s %.0f  (release core, %zu seeds of corpus/ops, writer %s; %.0f per CPU second)\n",
      core.per_second, s.programs.size(), a.writer.c_str(), core.per_cpu_second);
  features_per_program(s, a.writer);
  std::fflush(stdout);
  if (a.fuzz_seconds <= 0) return 0;
  const FuzzFigure f = fuzz_exec_per_second(s, a.writer, a.fuzz_seconds);
  std::printf(
      "exec/s %.0f  (fuzz build: libFuzzer, ASan + UBSan on the code under test, %.0f s from "
      "corpus/ops, writer %s; %llu execs, %.0f per CPU second, ft %llu, corpus %llu)\n",
      f.exec_per_sec, a.fuzz_seconds, a.writer.c_str(), (unsigned long long)f.execs,
      f.exec_per_cpu_sec, (unsigned long long)f.features, (unsigned long long)f.corpus);
  std::printf(
      "ratio %.1f  (release programs/s over fuzz exec/s: instrumentation and engine; %.1f per CPU "
      "second)\n",
      f.exec_per_sec > 0 ? core.per_second / f.exec_per_sec : 0.0,
      f.exec_per_cpu_sec > 0 ? core.per_cpu_second / f.exec_per_cpu_sec : 0.0);
  // The ratio above compares the seeds (a few ops each) with the longer
  // programs the fuzz run grows: most of it is length, not
  // instrumentation. The same release core over the inputs the run kept
  // separates the two.
  const Seeds kept = load_programs(repo_root() + "/out/bench/corpus");
  if (kept.programs.empty()) return 0;
  const CoreFigure same = core_programs_per_second(kept, a.writer, 3.0, true);
  std::printf(
      "kept programs/s %.0f  (release core, the %zu inputs the fuzz run wrote to "
      "out/bench/corpus; %.0f per CPU second)\n",
      same.per_second, kept.programs.size(), same.per_cpu_second);
  std::printf(
      "kept ratio %.1f  (release over fuzz on programs of the same kind: instrumentation and "
      "engine alone; %.1f per CPU second)\n",
      f.exec_per_sec > 0 ? same.per_second / f.exec_per_sec : 0.0,
      f.exec_per_cpu_sec > 0 ? same.per_cpu_second / f.exec_per_cpu_sec : 0.0);
  return 0;
}

}  // namespace

Run add_bench(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "bench",
      "walks per second through a 4-level second-stage table, cold and warm caches; the release "
      "core's programs/s over corpus/ops, the fuzz build's exec/s over --fuzz-time seconds from "
      "the same seeds, and their ratio; then the release core over the inputs that run kept, and "
      "that ratio");
  sub->add_option("--iterations,-n", a->iterations,
                  "walks of each kind (default " + std::to_string(kDefaultIterations) + ")")
      ->type_name("N")
      ->check(positive_count());
  sub->add_option("--fuzz-time", a->fuzz_seconds,
                  "seconds of the fuzz build's run (default 30; 0: the release core only)")
      ->type_name("S")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            char* end = nullptr;
            double d = strtod(v.c_str(), &end);
            return end && !*end && d >= 0 ? "" : "not a number of seconds: '" + v + "'";
          },
          ""));
  add_writer_option(*sub, a->writer, "the writer of the fuzzing line (default entry-sync)");
  return [a] { return bench(*a); };
}

}  // namespace vtd::tools

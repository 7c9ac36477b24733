// soak (issue 21): the platform's own false-positive check. Every writer that
// declares itself clean is fuzzed for the given time with ASan and UBSan
// from the working corpus; a violation there is either a bug in a correct
// writer or a false positive of the oracle, and a person must judge it, so
// it is minimized and printed and the command exits 1. `--raw` feeds
// arbitrary bytes (libFuzzer's own mutations only, from an empty corpus)
// through every fuzz target's entry point: the decoder's "every byte string
// is a valid program" and the sanitizers' view of it.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "driver/writer.h"
#include "prog/minimize.h"
#include "targets/harness.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/hunt.h"
#include "tools/process.h"

namespace vtd::tools {
namespace {

struct SoakArgs {
  double seconds = 600;
  std::vector<std::string> writers;  // empty: every writer that declares clean
  bool raw = false;
  uint64_t runs = 0;  // --raw: executions per target (0: until --time)
};

struct Row {
  std::string name;  // writer, or target for --raw
  uint64_t execs = 0;
  double exec_per_sec = 0;
  double seconds = 0;
  size_t violations = 0, sanitizer = 0;
  size_t states = 0;  // distinct abstract-state features over the corpus left
  std::vector<std::string> notes;
};

std::vector<std::string> clean_writers() {
  std::vector<std::string> out;
  for (const drv::WriterInfo& w : drv::writers())
    if (w.expects_clean()) out.emplace_back(w.name);
  return out;
}

// The distinct abstract-state features (the ones the ops target hands the
// engine) that the inputs in `dir` reach, replayed here in one process.
size_t abstract_states(const std::string& dir, const std::string& writer) {
  std::set<uint32_t> seen;
  auto note = [](uint32_t f, void* ctx) { static_cast<std::set<uint32_t>*>(ctx)->insert(f); };
  for (const std::string& name : list_dir(dir)) {
    const std::string bytes = read_text(dir + "/" + name);
    prog::Program p = prog::decode({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    harness::Options o;
    o.writer = writer;
    o.feature = note;
    o.feature_ctx = &seen;
    harness::run(p, o);
  }
  return seen.size();
}

// A violation on a writer that declares clean: the smallest program that
// still shows it, for a person to judge.
std::string would_be_false_positive(const Finding& f, const std::string& writer,
                                    const std::string& stem) {
  if (f.input.empty() || !file_exists(f.input)) return f.line;
  HuntSpec spec;  // the ops target's input, as soak fuzzes it
  spec.writer = writer;
  prog::Program p = save_reproducer(f.input, spec, stem);
  harness::Options o;
  o.writer = writer;
  harness::Result r = harness::run(p, o);
  if (!r.violated) return f.line + " (does not replay: " + stem + ".txt)";
  prog::Program m =
      minimize::minimize(p, harness::same_signature(writer, r.violation.signature), nullptr);
  m.writer = writer;
  harness::Result mr = harness::run(m, o);
  write_text(stem + ".min.txt", "# " + harness::summary_line(mr) + "\n" + prog::to_text(m));
  return harness::summary_line(mr) + "\n" + prog::to_text(m) + "(./vtdfuzz explain " + stem +
         ".min.txt)";
}

Row soak_writer(const SoakArgs& a, const std::string& writer) {
  HuntSpec s;
  s.writer = writer;
  s.seconds = a.seconds;
  s.out = repo_root() + "/out/soak/" + writer;
  // The working corpus when a campaign or merge left one (hunt adds the
  // checked-in seeds to it).
  const std::string working = repo_root() + "/out/corpus/ops";
  if (file_exists(working) && !list_dir(working).empty()) s.seeds = working;
  HuntResult r = hunt(s);
  Row row{writer, r.execs, r.exec_per_sec, r.seconds};
  for (const Finding& f : r.findings) {
    const bool crash = f.property == "crash";
    (crash ? row.sanitizer : row.violations)++;
    row.notes.push_back(
        crash ? f.line
              : would_be_false_positive(f, writer, s.out + "/" + f.property + "-" + f.sig));
  }
  row.states = abstract_states(r.corpus, writer);
  return row;
}

// The fuzz targets of the fuzz build: build/fuzz/targets/fuzz_<t>.
std::vector<std::string> fuzz_targets() {
  std::vector<std::string> out;
  const std::string dir = repo_root() + "/build/fuzz/targets";
  for (const std::string& name : list_dir(dir))
    if (name.rfind("fuzz_", 0) == 0 && name.find('.') == std::string::npos)
      out.push_back(name.substr(5));
  return out;
}

Row soak_raw(const SoakArgs& a, const std::string& target) {
  const std::string out = repo_root() + "/out/soak/raw-" + target;
  remove_tree(out);
  make_dirs(out + "/corpus");
  // Bytes as libFuzzer makes them: no dictionary, no value profile, no
  // record mutator (VTDFUZZ_RAW), from nothing.
  std::vector<std::string> argv = {target_binary("libfuzzer", target),
                                   "-use_value_profile=0",
                                   "-mutate_depth=20",
                                   "-print_final_stats=1",
                                   "-timeout=10",
                                   "-rss_limit_mb=4096",
                                   "-artifact_prefix=" + out + "/",
                                   "-max_total_time=" + std::to_string(int(a.seconds + 0.5))};
  if (a.runs) argv.push_back("-runs=" + std::to_string(a.runs));
  argv.push_back(out + "/corpus");
  const std::vector<std::string> env = {
      "VTDFUZZ_RAW=1", "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"};
  ProcResult p = run_process(argv, env, a.seconds + 60, out + "/fuzz.log");
  Row row{target};
  row.seconds = p.seconds;
  auto stat = [&](const std::string& key) {
    size_t at = p.log.rfind(key);
    return at == std::string::npos ? 0.0 : strtod(p.log.c_str() + at + key.size(), nullptr);
  };
  row.execs = uint64_t(stat("stat::number_of_executed_units: "));
  row.exec_per_sec = stat("stat::average_exec_per_sec: ");
  if (row.exec_per_sec <= 0 && p.seconds > 0) row.exec_per_sec = double(row.execs) / p.seconds;
  for (const std::string& name : list_dir(out)) {
    if (name.rfind("crash-", 0) != 0 && name.rfind("timeout-", 0) != 0 &&
        name.rfind("oom-", 0) != 0)
      continue;
    // Raw bytes on the ops target can still be a violation of the default
    // writer (entry-sync): that is a would-be false positive, the rest are
    // sanitizer reports, timeouts or out-of-memory.
    const bool violation = p.log.find("vtdfuzz: VIOLATION") != std::string::npos;
    (violation ? row.violations : row.sanitizer)++;
    row.notes.push_back(out + "/" + name);
  }
  if (p.status != 0 && row.violations + row.sanitizer == 0) {
    row.sanitizer++;
    row.notes.push_back("the target exited with status " + std::to_string(p.status) + " (" + out +
                        "/fuzz.log)");
  }
  return row;
}

int run_soak(const SoakArgs& a) {
  if (!file_exists(target_binary("libfuzzer", "ops")))
    throw UsageError("no fuzz build (" + target_binary("libfuzzer", "ops") + ")");
  std::vector<Row> rows;
  const std::vector<std::string> names =
      a.raw ? fuzz_targets() : (a.writers.empty() ? clean_writers() : a.writers);
  for (const std::string& n : names) {
    rows.push_back(a.raw ? soak_raw(a, n) : soak_writer(a, n));
    const Row& r = rows.back();
    std::fprintf(stdout, "%s: %llu execs in %.0f s, %zu violations, %zu sanitizer reports\n",
                 n.c_str(), (unsigned long long)r.execs, r.seconds, r.violations, r.sanitizer);
    std::fflush(stdout);
  }
  std::printf("\nsoak%s: ASan+UBSan, %.0f s per %s\n\n", a.raw ? " --raw" : "", a.seconds,
              a.raw ? "target" : "writer");
  std::printf("%-20s %12s %8s %11s %10s %s\n", a.raw ? "target" : "writer", "execs", "exec/s",
              "violations", "sanitizer", a.raw ? "" : "states");
  nlohmann::json report = nlohmann::json::array();
  bool bad = false;
  for (const Row& r : rows) {
    std::printf("%-20s %12llu %8.0f %11zu %10zu %s\n", r.name.c_str(), (unsigned long long)r.execs,
                r.exec_per_sec, r.violations, r.sanitizer,
                a.raw ? "" : std::to_string(r.states).c_str());
    bad |= r.violations + r.sanitizer > 0;
    report.push_back({{"name", r.name},
                      {"execs", r.execs},
                      {"exec_per_sec", r.exec_per_sec},
                      {"seconds", r.seconds},
                      {"violations", r.violations},
                      {"sanitizer_reports", r.sanitizer},
                      {"states", r.states},
                      {"notes", r.notes}});
  }
  for (const Row& r : rows)
    for (const std::string& n : r.notes)
      std::printf("\n%s: would-be false positive or sanitizer report, for a person to judge:\n%s\n",
                  r.name.c_str(), n.c_str());
  const std::string dir = repo_root() + "/out/soak";
  make_dirs(dir);
  write_text(dir + (a.raw ? "/report-raw.json" : "/report.json"), report.dump(2) + "\n");
  std::printf("\nverdict %s (out/soak/%s)\n", bad ? "FAILED" : "clean",
              a.raw ? "report-raw.json" : "report.json");
  return bad ? 1 : 0;
}

}  // namespace

Run add_soak(CLI::App& app) {
  auto a = std::make_shared<SoakArgs>();
  CLI::App* sub = app.add_subcommand(
      "soak",
      "fuzz every writer that declares clean (ASan+UBSan): any violation is a would-be false "
      "positive (exit 1)");
  sub->add_option("--time", a->seconds, "seconds per writer (default 600)")
      ->type_name("S")
      ->check(positive_seconds());
  sub->add_option("--writers", a->writers, "these writers instead of every clean one")
      ->type_name("W,...")
      ->delimiter(',')
      ->check(writer_name());
  sub->add_flag("--raw", a->raw,
                "arbitrary bytes through every fuzz target from an empty corpus (no dictionary, "
                "no record mutator)");
  sub->add_option("--runs", a->runs, "--raw: stop each target after N executions")
      ->type_name("N")
      ->check(positive_count());
  return [a] {
    if (a->runs && !a->raw) throw UsageError("soak: --runs goes with --raw");
    if (a->raw && !a->writers.empty()) throw UsageError("soak: --raw runs targets, not --writers");
    return run_soak(*a);
  };
}

}  // namespace vtd::tools

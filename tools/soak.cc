// soak (issue 21): the platform's own false-positive check. Every writer that
// declares itself clean is fuzzed for the given time with ASan and UBSan
// on all code, the tool's own included (the asan preset's targets: a
// memory bug of the oracle's is a false positive in the making), from the
// working corpus; a violation there is either a bug in a correct
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

#include "driver/live_update.h"
#include "driver/writer.h"
#include "prog/minimize.h"
#include "targets/harness.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/hunt.h"
#include "tools/process.h"
#include "vmm/propagator.h"

namespace vtd::tools {
namespace {

// The preset whose fuzz targets soak runs: ASan and UBSan on everything.
constexpr const char* kBuild = "asan";

struct SoakArgs {
  double seconds = 600;
  // None given: every writer, live-update flow and propagator that declares
  // clean; any given: those only.
  std::vector<std::string> writers, flows, propagators;
  std::vector<std::string> targets;  // --raw: these fuzz targets (empty: every one built)
  bool raw = false;
  uint64_t runs = 0;    // --raw: executions per target (0: until --time)
  bool resume = false;  // --raw: go on from the last raw soak of each target
};

struct Row {
  std::string name;  // writer, "lu F", "viommu P (target)", or target for --raw
  uint64_t execs = 0;
  double exec_per_sec = 0;
  double seconds = 0;
  size_t violations = 0, sanitizer = 0;
  size_t states = 0;  // distinct abstract-state features over the corpus left
  std::vector<std::string> notes;
  std::vector<uint64_t> segments;  // --raw --resume: execs of each earlier run
  bool interrupted = false;        // --raw: stopped by SIGINT before --runs or --time
  uint64_t earlier_execs() const {
    uint64_t n = 0;
    for (uint64_t x : segments) n += x;
    return n;
  }
};

// What one soak row fuzzes: a writer on ops, a live-update flow on ops
// (writer entry-sync), or a propagator on a vIOMMU target (twolevel: under
// the guest writer entry-sync).
HuntSpec subject_spec(const std::string& target, const std::string& writer, const std::string& lu,
                      const std::string& viommu) {
  HuntSpec s;
  s.target = target;
  s.writer = writer;
  s.lu = lu;
  s.viommu = viommu;
  return s;
}

std::string row_name(const HuntSpec& s) {
  if (!s.viommu.empty()) return "viommu " + s.viommu + " (" + s.target + ")";
  return s.lu.empty() ? s.writer : "lu " + s.lu;
}

std::vector<HuntSpec> soak_subjects(const SoakArgs& a) {
  std::vector<HuntSpec> out;
  const bool all = a.writers.empty() && a.flows.empty() && a.propagators.empty();
  std::vector<std::string> writers = a.writers, flows = a.flows, propagators = a.propagators;
  if (all) {
    for (const drv::WriterInfo& w : drv::writers())
      if (w.expects_clean()) writers.emplace_back(w.name);
    for (const drv::LuFlowInfo& f : drv::lu_flows())
      if (f.expects_clean()) flows.emplace_back(f.name);
    for (const vmm::PropagatorInfo& p : vmm::propagators())
      if (p.expects_clean()) propagators.emplace_back(p.name);
  }
  for (const std::string& w : writers) out.push_back(subject_spec("ops", w, "", ""));
  for (const std::string& f : flows) out.push_back(subject_spec("ops", "entry-sync", f, ""));
  // The propagator under raw guest stores (viommu) and under a guest driver
  // (twolevel).
  for (const std::string& p : propagators) {
    out.push_back(subject_spec("viommu", "", "", p));
    out.push_back(subject_spec("twolevel", "entry-sync", "", p));
  }
  return out;
}

// The distinct abstract-state features (the ones the ops target hands the
// engine) that the inputs in `dir` reach, replayed here in one process; the
// vIOMMU targets hand the engine none (0).
size_t abstract_states(const std::string& dir, const HuntSpec& spec) {
  if (spec.target != "ops") return 0;
  std::set<uint32_t> seen;
  auto note = [](uint32_t f, void* ctx) { static_cast<std::set<uint32_t>*>(ctx)->insert(f); };
  for (const std::string& name : list_dir(dir)) {
    prog::Program p = input_program(read_text(dir + "/" + name), spec);
    harness::Options o;
    o.writer = spec.writer;
    o.lu = flow_of(spec);
    o.feature = note;
    o.feature_ctx = &seen;
    harness::run(p, o);
  }
  return seen.size();
}

// A violation on a subject that declares clean: the smallest program that
// still shows it, for a person to judge.
std::string would_be_false_positive(const Finding& f, const HuntSpec& spec,
                                    const std::string& stem) {
  if (f.input.empty() || !file_exists(f.input)) return f.line;
  prog::Program p = save_reproducer(f.input, spec, stem);
  harness::Options o;
  o.writer = spec.writer;
  o.lu = flow_of(spec);
  o.viommu = spec.viommu;
  harness::Result r = harness::run(p, o);
  if (!r.violated) return f.line + " (does not replay: " + stem + ".txt)";
  prog::Program m = minimize::minimize(
      p, harness::same_signature(spec.writer, r.violation.signature, spec.viommu, flow_of(spec)),
      nullptr);
  harness::Result mr = harness::run(m, o);
  write_text(stem + ".min.txt", "# " + harness::summary_line(mr) + "\n" + prog::to_text(m));
  return harness::summary_line(mr) + "\n" + prog::to_text(m) + "(./vtdfuzz explain " + stem +
         ".min.txt)";
}

Row soak_subject(const SoakArgs& a, HuntSpec s) {
  s.seconds = a.seconds;
  s.build = kBuild;
  // The whole time, whatever it finds: each distinct violation is kept
  // (findings mode, as a campaign row) and judged below.
  s.keep_going = true;
  s.out = repo_root() + "/out/soak/" + s.target + "-" + subject_of(s);
  // The working corpus when a campaign or merge left one (hunt adds the
  // checked-in seeds to it).
  const std::string working = repo_root() + "/out/corpus/" + s.target;
  if (file_exists(working) && !list_dir(working).empty()) s.seeds = working;
  HuntResult r = hunt(s);
  Row row;
  row.name = row_name(s);
  row.execs = r.execs;
  row.exec_per_sec = r.exec_per_sec;
  row.seconds = r.seconds;
  for (const Finding& f : r.findings) {
    const bool crash = f.property == "crash";
    (crash ? row.sanitizer : row.violations)++;
    row.notes.push_back(
        crash ? f.line : would_be_false_positive(f, s, s.out + "/" + f.property + "-" + f.sig));
  }
  row.states = abstract_states(r.corpus, s);
  return row;
}

// The fuzz targets soak runs: build/asan/targets/fuzz_<t>.
std::vector<std::string> fuzz_targets() {
  std::vector<std::string> out;
  const std::string dir = repo_root() + "/build/" + kBuild + "/targets";
  for (const std::string& name : list_dir(dir))
    if (name.rfind("fuzz_", 0) == 0 && name.find('.') == std::string::npos)
      out.push_back(name.substr(5));
  return out;
}

// Executions in one libFuzzer log: its final count, or for a run that was
// killed before it printed one, the last status line's "#N".
uint64_t logged_execs(const std::string& log) {
  const std::string key = "stat::number_of_executed_units: ";
  const size_t at = log.rfind(key);
  if (at != std::string::npos) return strtoull(log.c_str() + at + key.size(), nullptr, 10);
  uint64_t last = 0;  // status lines start "#N\t"; a stack frame's "#N" is indented
  for (size_t i = 0; i < log.size();) {
    if (log[i] == '#') last = std::max<uint64_t>(last, strtoull(log.c_str() + i + 1, nullptr, 10));
    const size_t nl = log.find('\n', i);
    if (nl == std::string::npos) break;
    i = nl + 1;
  }
  return last;
}

Row soak_raw(const SoakArgs& a, const std::string& target) {
  const std::string out = repo_root() + "/out/soak/raw-" + target;
  // --resume: the corpus, findings and artifacts stay; each earlier run's
  // log is kept as fuzz-K.log and its executions count toward --runs (a
  // 10-million soak outlives a working session; a killed run's log still
  // says how far it went).
  Row row;
  std::vector<std::string> logs;  // each earlier run's log, then this run's
  if (a.resume && file_exists(out + "/corpus")) {
    size_t k = 1;
    while (file_exists(out + "/fuzz-" + std::to_string(k) + ".log")) k++;
    if (file_exists(out + "/fuzz.log")) {
      write_text(out + "/fuzz-" + std::to_string(k) + ".log", read_text(out + "/fuzz.log"));
      remove_tree(out + "/fuzz.log");
      k++;
    }
    for (size_t i = 1; i < k; i++) {
      const std::string log = read_text(out + "/fuzz-" + std::to_string(i) + ".log");
      row.segments.push_back(logged_execs(log));
      logs.push_back(log);
    }
  } else {
    remove_tree(out);
  }
  make_dirs(out + "/corpus");
  const uint64_t done = row.earlier_execs();
  // Bytes as libFuzzer makes them: no dictionary, no value profile, no
  // record mutator (VTDFUZZ_RAW), from nothing.
  std::vector<std::string> argv = {target_binary("libfuzzer", target, kBuild),
                                   "-use_value_profile=0",
                                   "-mutate_depth=20",
                                   "-print_final_stats=1",
                                   "-timeout=10",
                                   "-rss_limit_mb=4096",
                                   "-artifact_prefix=" + out + "/",
                                   "-max_total_time=" + std::to_string(int(a.seconds + 0.5))};
  if (a.runs) argv.push_back("-runs=" + std::to_string(a.runs > done ? a.runs - done : 0));
  // The target's options (corpus/<target>.options), as every other run of
  // it has: its input size limit (without it libFuzzer grows inputs to 4
  // KB, eight times the largest reproducer, and the ops target ran 600
  // exec/s), no corpus re-reads, no leak check after an input (the ops
  // target's page pool made libFuzzer run inputs again looking for one),
  // and for the ops target a feature per edge rather than per hit count.
  for (const std::string& o : libfuzzer_options(target)) argv.push_back(o);
  argv.push_back(out + "/corpus");
  // Findings mode (the ops, viommu and twolevel targets): a violation does
  // not end the run; the first input of each signature is kept and the
  // count goes on to --runs (a would-be false positive ended the first
  // raw runs of the viommu target at 37,694 executions).
  const std::string findings = out + "/findings";
  make_dirs(findings);
  const std::vector<std::string> env = {
      "VTDFUZZ_RAW=1", "VTDFUZZ_FINDINGS=" + findings,
      "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"};
  row.name = target;
  ProcResult p;
  p.status = 0;  // --runs already reached by the earlier runs: nothing to run
  if (!a.runs || done < a.runs) p = run_process(argv, env, a.seconds + 60, out + "/fuzz.log");
  row.seconds = p.seconds;
  const uint64_t now = logged_execs(p.log);
  const std::string key = "stat::average_exec_per_sec: ";
  const size_t at = p.log.rfind(key);
  row.exec_per_sec = at == std::string::npos ? 0 : strtod(p.log.c_str() + at + key.size(), nullptr);
  if (row.exec_per_sec <= 0 && p.seconds > 0) row.exec_per_sec = double(now) / p.seconds;
  row.execs = done + now;
  logs.push_back(p.log);
  // The run's log (an earlier one's or this one's) that says `what`.
  auto log_with = [&](const std::string& what) -> const std::string* {
    for (const std::string& l : logs)
      if (l.find(what) != std::string::npos) return &l;
    return nullptr;
  };
  // Each kept violation: its line, and how to read the input as the
  // target read it.
  for (const std::string& name : list_dir(findings)) {
    row.violations++;
    const std::string path = findings + "/" + name;
    const std::string found = "vtdfuzz: found " + path + " ";
    const std::string* log = log_with(found);
    const size_t at = log ? log->find(found) + found.size() : 0;
    row.notes.push_back((log ? log->substr(at, log->find('\n', at) - at) : name) +
                        "\n  ./vtdfuzz convert --to-text " +
                        (target == "ops" ? "" : "--target " + target + " ") + path + " " + path +
                        ".txt");
  }
  for (const std::string& name : list_dir(out)) {
    if (name.rfind("crash-", 0) != 0 && name.rfind("timeout-", 0) != 0 &&
        name.rfind("oom-", 0) != 0)
      continue;
    // Raw bytes on a target without findings mode (queue, transitions) can
    // still be a violation: that is a would-be false positive, the rest are
    // sanitizer reports, timeouts or out-of-memory. A run stops at its
    // first artifact, so the log of the run that wrote this one (libFuzzer's
    // "written to PATH" line) says which; with none on record, a violation
    // line in any run's log.
    const std::string path = out + "/" + name;
    const std::string* own = log_with("written to " + path);
    const bool violation = own ? own->find("vtdfuzz: VIOLATION") != std::string::npos
                               : log_with("vtdfuzz: VIOLATION") != nullptr;
    (violation ? row.violations : row.sanitizer)++;
    row.notes.push_back(path);
  }
  // Stopped by a person (libFuzzer's SIGINT handler prints this and exits
  // 72): not a finding, and not clean either; --resume goes on.
  row.interrupted = p.log.find("libFuzzer: run interrupted") != std::string::npos;
  if (p.status != 0 && row.violations + row.sanitizer == 0 && !row.interrupted) {
    row.sanitizer++;
    row.notes.push_back("the target exited with status " + std::to_string(p.status) + " (" + out +
                        "/fuzz.log)");
  }
  return row;
}

int run_soak(const SoakArgs& a) {
  if (!file_exists(target_binary("libfuzzer", "ops", kBuild)))
    throw UsageError("no asan build (" + target_binary("libfuzzer", "ops", kBuild) +
                     "): ./vtdfuzz build asan");
  std::vector<Row> rows;
  auto done = [&](Row row) {
    rows.push_back(std::move(row));
    const Row& r = rows.back();
    std::fprintf(stdout, "%s: %llu execs in %.0f s, %zu violations, %zu sanitizer reports\n",
                 r.name.c_str(), (unsigned long long)r.execs, r.seconds, r.violations, r.sanitizer);
    if (!r.segments.empty())
      std::fprintf(stdout, "%s: resumed: %llu of the execs in %zu earlier run(s), fuzz-1.log..\n",
                   r.name.c_str(), (unsigned long long)r.earlier_execs(), r.segments.size());
    if (r.interrupted)
      std::fprintf(stdout, "%s: interrupted; `soak --raw --targets %s --resume` goes on\n",
                   r.name.c_str(), r.name.c_str());
    std::fflush(stdout);
  };
  if (a.raw) {
    const std::vector<std::string> built = fuzz_targets();
    for (const std::string& t : a.targets)
      if (std::find(built.begin(), built.end(), t) == built.end())
        throw UsageError("soak: no fuzz target '" + t + "' (" +
                         target_binary("libfuzzer", t, kBuild) + ")");
    for (const std::string& t : a.targets.empty() ? built : a.targets) done(soak_raw(a, t));
  } else {
    for (const HuntSpec& s : soak_subjects(a)) done(soak_subject(a, s));
  }
  std::printf("\nsoak%s: ASan+UBSan, %.0f s per %s\n\n", a.raw ? " --raw" : "", a.seconds,
              a.raw ? "target" : "row");
  std::printf("%-28s %12s %8s %11s %10s %s\n", a.raw ? "target" : "subject", "execs", "exec/s",
              "violations", "sanitizer", a.raw ? "" : "states");
  nlohmann::json report = nlohmann::json::array();
  bool bad = false, interrupted = false;
  for (const Row& r : rows) {
    std::printf("%-28s %12llu %8.0f %11zu %10zu %s\n", r.name.c_str(), (unsigned long long)r.execs,
                r.exec_per_sec, r.violations, r.sanitizer,
                a.raw ? "" : std::to_string(r.states).c_str());
    bad |= r.violations + r.sanitizer > 0;
    interrupted |= r.interrupted;
    report.push_back({{"name", r.name},
                      {"execs", r.execs},
                      {"exec_per_sec", r.exec_per_sec},
                      {"seconds", r.seconds},
                      {"violations", r.violations},
                      {"sanitizer_reports", r.sanitizer},
                      {"states", r.states},
                      {"earlier_runs_execs", r.segments},
                      {"interrupted", r.interrupted},
                      {"notes", r.notes}});
  }
  for (const Row& r : rows)
    for (const std::string& n : r.notes)
      std::printf("\n%s: would-be false positive or sanitizer report, for a person to judge:\n%s\n",
                  r.name.c_str(), n.c_str());
  const std::string dir = repo_root() + "/out/soak";
  make_dirs(dir);
  write_text(dir + (a.raw ? "/report-raw.json" : "/report.json"), report.dump(2) + "\n");
  std::printf("\nverdict %s (out/soak/%s)\n",
              bad           ? "FAILED"
              : interrupted ? "interrupted, not clean"
                            : "clean",
              a.raw ? "report-raw.json" : "report.json");
  return bad || interrupted ? 1 : 0;
}

}  // namespace

Run add_soak(CLI::App& app) {
  auto a = std::make_shared<SoakArgs>();
  CLI::App* sub = app.add_subcommand(
      "soak",
      "fuzz every writer, live-update flow and propagator that declares clean (ASan+UBSan): any "
      "violation is a would-be false positive (exit 1)");
  sub->add_option("--time", a->seconds, "seconds per row (default 600)")
      ->type_name("S")
      ->check(positive_seconds());
  sub->add_option("--writers", a->writers, "these writers (on ops)")
      ->type_name("W,...")
      ->delimiter(',')
      ->check(writer_name());
  sub->add_option("--lu", a->flows, "these live-update flows (on ops, writer entry-sync)")
      ->type_name("F,...")
      ->delimiter(',')
      ->check(flow_name());
  sub->add_option("--viommu", a->propagators,
                  "these propagators (on the viommu and twolevel targets)")
      ->type_name("NAME,...")
      ->delimiter(',')
      ->check(propagator_name());
  sub->add_flag("--raw", a->raw,
                "arbitrary bytes through every fuzz target from an empty corpus (no dictionary, "
                "no record mutator)");
  sub->add_option("--targets", a->targets, "--raw: these fuzz targets (default: every one built)")
      ->type_name("T,...")
      ->delimiter(',');
  sub->add_option("--runs", a->runs, "--raw: stop each target after N executions")
      ->type_name("N")
      ->check(positive_count());
  sub->add_flag("--resume", a->resume,
                "--raw: go on from each target's last raw soak (its corpus, findings and logs); "
                "--runs and the row count the earlier runs' executions too");
  return [a] {
    if (a->runs && !a->raw) throw UsageError("soak: --runs goes with --raw");
    if (!a->targets.empty() && !a->raw) throw UsageError("soak: --targets goes with --raw");
    if (a->resume && !a->raw) throw UsageError("soak: --resume goes with --raw");
    if (a->raw && !(a->writers.empty() && a->flows.empty() && a->propagators.empty()))
      throw UsageError("soak: --raw runs targets, not --writers, --lu or --viommu");
    return run_soak(*a);
  };
}

}  // namespace vtd::tools

#include "tools/hunt.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "driver/writer.h"
#include "targets/harness.h"
#include "targets/viommu.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/fuzz_options.h"
#include "tools/process.h"

namespace vtd::tools {
namespace {

// "vtdfuzz: VIOLATION P1 writer=legacy sig=0123... op=..." -> P1, sig
// Also "vtdfuzz: passed over (not P1) VIOLATION P4 ..." (hunt --property).
bool parse_violation(const std::string& line, std::string* prop, std::string* sig) {
  if (line.find("vtdfuzz: ") == std::string::npos) return false;
  size_t v = line.find("VIOLATION ");
  if (v == std::string::npos) return false;
  std::istringstream in(line.substr(v + 10));
  in >> *prop;
  size_t s = line.find(" sig=");
  *sig = s == std::string::npos ? "" : line.substr(s + 5, 16);
  return true;
}

uint64_t stat_u64(const std::string& log, const std::string& key) {
  size_t p = log.rfind(key);
  if (p == std::string::npos) return 0;
  return strtoull(log.c_str() + p + key.size(), nullptr, 10);
}

double stat_f(const std::string& text, const std::string& key) {
  size_t p = text.rfind(key);
  if (p == std::string::npos) return 0;
  return strtod(text.c_str() + p + key.size(), nullptr);
}

std::string seeds_dir(const HuntSpec& s) {
  return s.seeds.empty() ? repo_root() + "/corpus/" + s.target : s.seeds;
}

// What an engine input shows: its violation (property and signature) when
// it replays with one, else "crash" (a sanitizer report or a timeout).
Finding classify(const std::string& path, const HuntSpec& s, double t) {
  prog::Program p = input_program(read_text(path), s);
  harness::Options o;
  o.writer = s.writer;
  o.viommu = s.viommu;
  o.lu = flow_of(s);
  harness::Result hr = harness::run(p, o);
  if (!hr.violated)
    return {"crash", path.substr(path.rfind('-') + 1, 16), "crash without a violation", t, path};
  // The property and signature as the engine's own line spells them.
  Finding f{"", "", harness::summary_line(hr), t, path};
  parse_violation(f.line, &f.property, &f.sig);
  return f;
}

// What --empty starts from, for both engines: one header-only program (the
// default setup, no more ops), so that the first ops an engine inserts are
// read as ops rather than as header bytes. Hunting a live-update flow, the
// header asks for the live-update setup (prog/binary.cc): the machine is
// the same, with its first domain and device preserved.
std::string empty_seed(const HuntSpec& s) {
  const std::string dir = s.out + "/seed-empty";
  make_dirs(dir);
  if (s.target == "viommu") {
    write_bytes(dir + "/empty", {0});  // one device, remapping on, no record
  } else {
    // The default setup (with something preserved for a live-update flow),
    // and no writer, flow or propagator name.
    const uint8_t flags = s.lu.empty() ? 0 : prog::kLiveUpdateSetup;
    write_bytes(dir + "/empty", {prog::kVersion, flags, 0, 0, 0, 0});
  }
  return dir;
}

// One libFuzzer process (plain mode, never -fork): a hunt stops at the
// first violation it wants; a campaign row (keep_going) runs with
// VTDFUZZ_FINDINGS, so the target keeps the first input of each signature
// and goes on, and the row lasts its whole share unless a wanted property
// turns up. With jobs > 1, that many processes share the corpus directory.
HuntResult libfuzzer(const HuntSpec& s) {
  HuntResult r;
  std::string corpus = s.out + "/corpus";
  make_dirs(corpus);
  const std::string findings = s.out + "/findings";
  if (s.keep_going) make_dirs(findings);
  std::vector<std::string> argv = {target_binary("libfuzzer", s.target, s.build),
                                   "-max_total_time=" + std::to_string(int(s.seconds + 0.5)),
                                   "-print_final_stats=1",
                                   "-timeout=10",
                                   "-rss_limit_mb=4096",
                                   "-artifact_prefix=" + s.out + "/"};
  std::string dict = repo_root() + "/corpus/" + s.target + ".dict";
  if (file_exists(dict)) argv.push_back("-dict=" + dict);
  for (const std::string& o : libfuzzer_options(s.target)) argv.push_back(o);
  if (s.jobs > 1) argv.push_back("-reload=1");  // pick up what the other processes keep
  argv.push_back(corpus);
  if (!s.empty && file_exists(seeds_dir(s))) argv.push_back(seeds_dir(s));
  if (s.empty) argv.push_back(empty_seed(s));
  // A working corpus is merged for coverage on one writer and may drop a
  // checked-in seed: the seeds always come along.
  const std::string checked_in = repo_root() + "/corpus/" + s.target;
  if (!s.empty && seeds_dir(s) != checked_in && file_exists(checked_in)) argv.push_back(checked_in);
  std::vector<std::string> env = {
      "VTDFUZZ_WRITER=" + s.writer, "VTDFUZZ_LU=" + flow_of(s),
      "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"};
  if (s.keep_going) env.push_back("VTDFUZZ_FINDINGS=" + findings);
  if (!s.viommu.empty()) env.push_back("VTDFUZZ_VIOMMU=" + s.viommu);
  if (!s.keep_going && !s.want.empty()) {
    std::string want;  // "P4|P2": any of them stops the target
    for (const std::string& p : s.want) want += (want.empty() ? "" : "|") + p;
    env.push_back("VTDFUZZ_PROPERTY=" + want);
  }
  std::mutex mu;  // the findings, shared by the processes' output readers
  bool done = false;
  auto record = [&](Finding f) {  // under mu; true when a wanted property is in
    if (std::any_of(r.findings.begin(), r.findings.end(),
                    [&](const Finding& x) { return x.sig == f.sig; }))
      return done;
    r.findings.push_back(f);
    for (const std::string& want : s.want) done |= f.property == want;
    return done;
  };
  auto watch = [&]() {
    std::vector<Finding> pending;  // violation line seen, input path not yet
    return [&, pending](const std::string& line, double t) mutable {
      std::lock_guard<std::mutex> lock(mu);
      if (done) return true;  // another process found what the row wants
      std::string prop, sig;
      if (line.rfind("vtdfuzz: found ", 0) == 0 && parse_violation(line, &prop, &sig)) {
        // keep_going: the target kept the input in the findings directory.
        const std::string path = line.substr(15, line.find(' ', 15) - 15);
        return record({prop, sig, "vtdfuzz: " + line.substr(line.find("VIOLATION")), t, path});
      }
      if (parse_violation(line, &prop, &sig)) {
        if (line.find("vtdfuzz: passed over") != std::string::npos) {
          // hunt --property: another property, reported once, no input kept.
          record({prop, sig, line, t, ""});
          return false;
        }
        pending.push_back({prop, sig, line.substr(line.find("vtdfuzz: VIOLATION")), t, ""});
        return false;
      }
      if (line.find("ERROR: AddressSanitizer") != std::string::npos ||
          line.find("runtime error:") != std::string::npos)
        pending.push_back({"crash", "sanitizer", line, t, ""});
      size_t w = line.find("Test unit written to ");
      if (w != std::string::npos && !pending.empty()) {
        Finding f = pending.back();
        pending.clear();
        f.input = line.substr(w + 21);
        return record(f);
      }
      return false;  // plain mode: libFuzzer stops by itself after a crash
    };
  };
  const int n = std::max(1, s.jobs);
  std::vector<ProcResult> procs(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    std::string log = s.out + (n == 1 ? "/fuzz.log" : "/fuzz-" + std::to_string(i) + ".log");
    threads.emplace_back(
        [&, i, log] { procs[size_t(i)] = run_process(argv, env, s.seconds + 60, log, watch()); });
  }
  for (std::thread& t : threads) t.join();
  r.corpus = corpus;
  for (const ProcResult& p : procs) {
    r.seconds = std::max(r.seconds, p.seconds);
    r.log += p.log;
    size_t cov = p.log.rfind(" cov: ");
    if (cov != std::string::npos)
      r.edges = std::max<uint64_t>(r.edges, strtoull(p.log.c_str() + cov + 6, nullptr, 10));
    // Final stats when libFuzzer ran its time; the last status line ("#N
    // ...") when it was stopped early or crashed.
    uint64_t execs = stat_u64(p.log, "stat::number_of_executed_units: ");
    if (!execs) {
      size_t h = p.log.rfind("\n#");
      if (h != std::string::npos) execs = strtoull(p.log.c_str() + h + 2, nullptr, 10);
    }
    r.execs += execs;
    // libFuzzer's own figure can read 0 in the stats it prints from a crash
    // handler: then executions over wall time.
    double eps = stat_f(p.log, "stat::average_exec_per_sec: ");
    r.exec_per_sec += eps > 0 ? eps : p.seconds > 0 ? double(execs) / p.seconds : 0;
  }
  std::sort(r.findings.begin(), r.findings.end(),
            [](const Finding& a, const Finding& b) { return a.seconds < b.seconds; });
  return r;
}

HuntResult afl(const HuntSpec& s) {
  HuntResult r;
  std::string seeds = seeds_dir(s);
  if (s.empty || list_dir(seeds).empty()) seeds = empty_seed(s);
  const std::string out = s.out + "/afl";
  const std::string dict = repo_root() + "/corpus/" + s.target + ".dict";
  std::vector<std::string> env = {"VTDFUZZ_WRITER=" + s.writer,
                                  "VTDFUZZ_LU=" + flow_of(s),
                                  "AFL_NO_UI=1",
                                  "AFL_SKIP_CPUFREQ=1",
                                  "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1",
                                  "AFL_NO_AFFINITY=1",
                                  "AFL_FAST_CAL=1"};
  // No AFL_SKIP_BIN_CHECK: the check is where afl-fuzz finds the persistent
  // and deferred-fork-server signatures AFL++'s libFuzzer driver puts in the
  // target. Without it every input ran in a fresh fork: 275 exec/s on
  // legacy, against 11,050 in persistent mode.
  if (!s.viommu.empty()) env.push_back("VTDFUZZ_VIOMMU=" + s.viommu);
  // The record mutator (build/release/targets/libvtdfuzz_afl_mutator.so) is
  // opt-in, through AFL_CUSTOM_MUTATOR_LIBRARY in the caller's environment:
  // on `legacy` P1 it slowed AFL++ down (README, "Programs").
  if (!s.keep_going) env.push_back("AFL_BENCH_UNTIL_CRASH=1");
  if (!s.keep_going && !s.want.empty()) env.push_back("VTDFUZZ_PROPERTY=" + s.want.front());
  // One main instance and jobs-1 secondaries sharing the sync directory.
  const int n = std::max(1, s.jobs);
  std::vector<std::string> names;
  std::vector<std::thread> threads;
  std::vector<ProcResult> procs;
  procs.resize(size_t(n));
  for (int i = 0; i < n; ++i) names.push_back(n == 1 ? "default" : "fuzzer" + std::to_string(i));
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> argv = {
        "afl-fuzz", "-i", seeds, "-o", out, "-V", std::to_string(int(s.seconds + 0.5))};
    if (n > 1) argv.insert(argv.end(), {i == 0 ? "-M" : "-S", names[size_t(i)]});
    if (file_exists(dict)) argv.insert(argv.end(), {"-x", dict});
    argv.insert(argv.end(), {"--", target_binary("afl", s.target)});
    std::string log = s.out + "/fuzz-" + names[size_t(i)] + ".log";
    threads.emplace_back([&procs, &env, &s, argv, i, log] {
      procs[size_t(i)] = run_process(argv, env, s.seconds + 60, log);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const ProcResult& p : procs) {
    r.seconds = std::max(r.seconds, p.seconds);
    r.log += p.log;
  }
  r.corpus = out + "/" + names.front() + "/queue";
  // AFL++ names crashes id:N,...,time:<ms>,...: replay each to classify it.
  for (const std::string& name : names) {
    std::string stats = read_text(out + "/" + name + "/fuzzer_stats");
    r.execs += stat_u64(stats, "execs_done        : ");
    r.exec_per_sec += stat_f(stats, "execs_per_sec     : ");
    r.edges = std::max<uint64_t>(r.edges, stat_u64(stats, "edges_found       : "));
    std::string crashes = out + "/" + name + "/crashes";
    for (const std::string& file : list_dir(crashes)) {
      if (file.rfind("id:", 0) != 0) continue;
      std::string path = crashes + "/" + file;
      size_t t = file.find("time:");
      double secs =
          t == std::string::npos ? r.seconds : strtod(file.c_str() + t + 5, nullptr) / 1000.0;
      Finding f = classify(path, s, secs);
      auto same = std::find_if(r.findings.begin(), r.findings.end(),
                               [&](const Finding& x) { return x.sig == f.sig; });
      if (same == r.findings.end())
        r.findings.push_back(f);
      else if (secs < same->seconds)
        *same = f;
    }
  }
  std::sort(r.findings.begin(), r.findings.end(),
            [](const Finding& a, const Finding& b) { return a.seconds < b.seconds; });
  return r;
}

}  // namespace

std::string target_binary(const std::string& engine, const std::string& target,
                          const std::string& build) {
  return repo_root() + "/build/" + (engine == "afl" ? "afl" : build) + "/targets/fuzz_" + target;
}

// The [libfuzzer] section of corpus/<target>.options, as OSS-Fuzz reads it:
// every `name = value` line is a flag. For ops: max_len (with the custom
// mutator libFuzzer turns -len_control off; without a cap the working
// corpus filled with 4 KiB programs that ran at a third of the speed) and
// use_counters = 0 (edges, not hit counts: corpus/ops.options says why).
std::vector<std::string> libfuzzer_options(const std::string& target) {
  std::istringstream in(read_text(repo_root() + "/corpus/" + target + ".options"));
  std::vector<std::string> flags;
  bool section = false;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      section = line.rfind("[libfuzzer]", 0) == 0;
      continue;
    }
    size_t eq = line.find('=');
    if (!section || eq == std::string::npos) continue;
    auto trim = [](std::string x) {
      x.erase(0, x.find_first_not_of(" \t"));
      x.erase(x.find_last_not_of(" \t\r") + 1);
      return x;
    };
    flags.push_back("-" + trim(line.substr(0, eq)) + "=" + trim(line.substr(eq + 1)));
  }
  return flags;
}

HuntResult hunt(const HuntSpec& s) {
  if (!file_exists(target_binary(s.engine, s.target, s.build)))
    throw UsageError("no " + s.engine + " build of target '" + s.target + "' (" +
                     target_binary(s.engine, s.target, s.build) + ")");
  remove_tree(s.out);
  make_dirs(s.out);
  return s.engine == "afl" ? afl(s) : libfuzzer(s);
}

prog::Program input_program(const std::string& bytes, const HuntSpec& s) {
  const std::span<const uint8_t> b(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  prog::Program p = s.target == "viommu"     ? viommu::decode(b, s.viommu)
                    : s.target == "twolevel" ? prog::decode_guest(b, s.viommu)
                                             : prog::decode(b);
  if (s.target == "twolevel")
    p.config.scalable = p.config.coherent = true;  // as the target runs it
  p.writer = s.writer;
  // As the target ran it (flow_of): a writer's program under the reference
  // flow, which a program names by naming none.
  if (s.target == "ops") p.lu = flow_of(s) == "reference" ? "" : flow_of(s);
  if (!s.viommu.empty()) p.viommu = s.viommu;
  return p;
}

std::string flow_of(const HuntSpec& s) {
  if (!s.lu.empty() || s.target != "ops") return s.lu;
  return "reference";
}

std::string findings_dir(const HuntSpec& s) {
  return repo_root() + "/out/findings/" + subject_of(s);
}

std::string subject_of(const HuntSpec& s) {
  if (!s.viommu.empty()) return s.viommu;
  return s.lu.empty() ? s.writer : "lu-" + s.lu;
}

prog::Program save_reproducer(const std::string& input, const HuntSpec& s,
                              const std::string& stem) {
  prog::Program p = input_program(read_text(input), s);
  write_text(stem + ".txt", prog::to_text(p));
  write_bytes(stem + ".bin", prog::encode(p));
  return p;
}

// ---------------------------------------------------------------- hunt --

namespace {

int run_hunt(const FuzzOptions& o) {
  check_fuzz_options(o, FuzzCommand::Hunt);
  HuntSpec s;
  s.target = o.targets.front();
  s.writer = o.writer;
  s.lu = o.lu;
  s.viommu = o.viommu;
  // The guest's writer on twolevel; --lu alone: the reference writer.
  if ((s.target == "twolevel" || !s.lu.empty()) && s.writer.empty()) s.writer = "entry-sync";
  s.engine = o.engine;
  s.seconds = o.seconds;
  s.empty = o.empty;
  // Chasing one property: the target passes over the others (listed).
  if (!o.property.empty()) s.want = {o.property};
  s.out = repo_root() + "/out/hunt/" + s.target + "-" + subject_of(s) + "-" + s.engine;
  HuntResult r = hunt(s);
  int rc = 0;
  auto wanted = std::find_if(r.findings.begin(), r.findings.end(), [&](const Finding& f) {
    return s.want.empty() || f.property == s.want.front();
  });
  if (wanted != r.findings.end()) {
    const Finding& f = *wanted;
    std::printf("found %s after %.1f s, %llu execs\n", f.property.c_str(), f.seconds,
                (unsigned long long)r.execs);
    std::printf("exec/s %.0f\n", r.exec_per_sec);
    std::printf("%s\n", f.line.c_str());
    if (!f.input.empty() && file_exists(f.input)) {
      // Kept across runs, one per signature.
      std::string dir = findings_dir(s);
      make_dirs(dir);
      std::string stem = dir + "/" + f.property + "-" + f.sig;
      save_reproducer(f.input, s, stem);
      save_reproducer(f.input, s, s.out + "/reproducer");
      std::printf("reproducer: %s.txt (and .bin)\n", stem.c_str());
    }
    rc = 1;
  } else {
    std::printf("not found in %.0f s, %llu execs\n", r.seconds, (unsigned long long)r.execs);
    std::printf("exec/s %.0f\n", r.exec_per_sec);
  }
  for (auto it = r.findings.begin(); it != r.findings.end(); ++it)
    if (it != wanted)
      std::printf("also found %s after %.1f s (sig %s)\n", it->property.c_str(), it->seconds,
                  it->sig.c_str());
  if (!r.findings.empty()) rc = 1;  // any violation, wanted or not
  return rc;
}

}  // namespace

Run add_hunt(CLI::App& app) {
  auto o = std::make_shared<FuzzOptions>();
  CLI::App* sub = app.add_subcommand(
      "hunt",
      "fuzzes one writer (or one live-update flow with --lu, writer entry-sync unless given; or, "
      "on the viommu and twolevel targets, one propagator) until the first violation (with "
      "--property, until one of that property, listing the others): 'found P1 after 31.7 s, "
      "228797 execs', 'exec/s ...'; the reproducer lands in out/findings/W/ (out/findings/lu-F/ "
      "for "
      "a flow)");
  add_fuzz_options(*sub, *o, FuzzCommand::Hunt);
  return [o] { return run_hunt(*o); };
}

}  // namespace vtd::tools

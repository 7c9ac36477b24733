// Corpus commands: merge (libFuzzer -merge=1) and source-based coverage.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/hunt.h"
#include "tools/process.h"

namespace vtd::tools {

size_t count_files(const std::string& dir) {
  return list_dir(dir).size();
}

// Merges IN_DIRs into OUT_DIR keeping only inputs that add coverage
// (libFuzzer's -merge=1, which also reads what OUT_DIR already has).
MergeResult merge_corpus(const std::string& target, const std::string& writer,
                         const std::string& out, const std::vector<std::string>& ins) {
  MergeResult m;
  std::string bin = target_binary("libfuzzer", target);
  if (!file_exists(bin))
    throw UsageError("no libFuzzer build of target '" + target + "' (" + bin + ")");
  make_dirs(out);
  m.before = count_files(out);
  for (const std::string& d : ins) m.inputs += count_files(d);
  // The same max_len as the fuzzing runs: what merge writes is cut to it.
  std::vector<std::string> argv = {bin, "-merge=1", "-timeout=10"};
  for (const std::string& o : libfuzzer_options(target)) argv.push_back(o);
  argv.push_back(out);
  argv.insert(argv.end(), ins.begin(), ins.end());
  ProcResult p = run_process(argv, {"VTDFUZZ_WRITER=" + writer, "ASAN_OPTIONS=detect_leaks=0"}, 0,
                             out + "/../merge-" + target + ".log");
  if (p.status != 0)
    throw std::runtime_error("merge failed (see " + out + "/../merge-" + target + ".log)");
  m.after = count_files(out);
  return m;
}

Run add_merge(CLI::App& app) {
  struct Args {
    std::string out, writer = "entry-sync", target = "ops";
    std::vector<std::string> ins;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub =
      app.add_subcommand("merge", "keeps the inputs that add coverage (libFuzzer -merge=1)");
  sub->add_option("OUT_DIR", a->out, "the corpus merged into (keeps what it has)")
      ->required()
      ->type_name("");
  sub->add_option("IN_DIR", a->ins, "corpora to take inputs from")
      ->required()
      ->type_name("")
      ->check(existing_dir());
  add_writer_option(*sub, a->writer, "the writer the target runs (default entry-sync)");
  sub->add_option("--target", a->target, "the fuzz target (default ops)")->type_name("T");
  return [a] {
    MergeResult m = merge_corpus(a->target, a->writer, a->out, a->ins);
    std::printf("merged %zu inputs into %s: %zu -> %zu files\n", m.inputs, a->out.c_str(), m.before,
                m.after);
    return 0;
  };
}

// Source-based coverage of a corpus: the coverage preset's build of the
// target replays it, llvm-profdata merges, llvm-cov renders.
namespace {

int coverage(std::string target, std::vector<std::string> dirs) {
  const std::string root = repo_root();
  if (dirs.empty()) {
    dirs.push_back(root + "/corpus/" + target);
    if (file_exists(root + "/out/corpus/" + target)) dirs.push_back(root + "/out/corpus/" + target);
  }
  std::string bin = root + "/build/coverage/targets/fuzz_" + target;
  if (!file_exists(bin))
    throw UsageError("no coverage build of target '" + target + "' (" + bin + ")");
  std::string out = root + "/out/coverage";
  remove_tree(out);
  make_dirs(out + "/profraw");
  std::vector<std::string> argv = {bin, "-runs=0"};
  argv.insert(argv.end(), dirs.begin(), dirs.end());
  ProcResult p = run_process(
      argv, {"LLVM_PROFILE_FILE=" + out + "/profraw/%p.profraw", "VTDFUZZ_WRITER=entry-sync"}, 0,
      out + "/replay.log");
  if (p.status != 0)
    throw std::runtime_error("the coverage build failed to replay the corpus (see " + out +
                             "/replay.log)");
  std::vector<std::string> merge = {"llvm-profdata", "merge", "-sparse", "-o",
                                    out + "/ops.profdata"};
  for (const std::string& f : list_dir(out + "/profraw")) merge.push_back(out + "/profraw/" + f);
  if (run_process(merge, {}, 0, out + "/profdata.log").status != 0)
    throw std::runtime_error("llvm-profdata failed (see " + out + "/profdata.log)");
  const std::string ignore = "-ignore-filename-regex=(/usr/|tests/|targets/.*_fuzz\\.cc)";
  run_process({"llvm-cov", "show", bin, "-instr-profile=" + out + "/ops.profdata", "-format=html",
               "-output-dir=" + out + "/html", ignore},
              {}, 0, out + "/show.log");
  ProcResult rep =
      run_process({"llvm-cov", "report", bin, "-instr-profile=" + out + "/ops.profdata", ignore},
                  {}, 0, out + "/report.txt");
  // The TOTAL line: regions, missed, cover, functions, missed, executed, lines, missed, cover, ...
  std::string total;
  size_t t = rep.log.rfind("\nTOTAL");
  if (t != std::string::npos) total = rep.log.substr(t + 1, rep.log.find('\n', t + 1) - t - 1);
  std::vector<std::string> f;
  for (size_t i = 0, j; i < total.size(); i = j) {
    while (i < total.size() && total[i] == ' ') ++i;
    j = total.find(' ', i);
    if (j == std::string::npos) j = total.size();
    if (j > i) f.push_back(total.substr(i, j - i));
  }
  size_t inputs = 0;
  for (const std::string& d : dirs) inputs += count_files(d);
  if (f.size() >= 10)
    std::printf(
        "coverage of %zu inputs: lines %s, functions %s, regions %s "
        "(out/coverage/html/index.html)\n",
        inputs, f[9].c_str(), f[6].c_str(), f[3].c_str());
  else
    std::printf("coverage of %zu inputs: see out/coverage/report.txt\n", inputs);
  return 0;
}

}  // namespace

Run add_coverage(CLI::App& app) {
  struct Args {
    std::string target = "ops";
    std::vector<std::string> dirs;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "coverage", "source-based coverage of the corpus: out/coverage/html, one summary line");
  sub->add_option("DIR", a->dirs, "corpora to replay (default corpus/T and out/corpus/T)")
      ->type_name("")
      ->check(existing_dir());
  sub->add_option("--target", a->target, "the fuzz target (default ops)")->type_name("T");
  return [a] { return coverage(a->target, a->dirs); };
}

}  // namespace vtd::tools

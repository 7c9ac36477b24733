// `vtdfuzz timetobug`: how long the engine takes to find each catalog bug
// from an empty corpus. For each writer (or, with --lu, each live-update
// flow, writer entry-sync) that declares catalog bugs, N runs
// of `hunt --empty` chasing the properties it declares (any of "P4|P2"),
// then the median and worst time and executions, as a Markdown table
// (stdout and out/timetobug/report.md). A run that does not find it counts
// as its time limit and is marked. Wall-clock figures: a benchmark, never a
// test.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "driver/live_update.h"
#include "driver/writer.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/fuzz_options.h"
#include "tools/hunt.h"
#include "tools/process.h"

namespace vtd::tools {
namespace {

struct Args {
  int runs = 5;
  double seconds = 120;
  std::string engine = "libfuzzer";
  std::vector<std::string> writers;  // default: catalog (unless --lu alone)
  std::vector<std::string> flows;    // --lu
};

// One row: a writer or a live-update flow, and what it declares.
struct Subject {
  std::string writer, lu;
  std::string_view catalog;
  std::vector<std::string> want;
};

std::vector<Subject> subjects(const Args& a) {
  std::vector<Subject> out;
  auto add = [&](const std::string& w, const std::string& lu, std::string_view catalog,
                 const std::vector<std::string_view>& expected) {
    Subject s{w, lu, catalog, {}};
    for (std::string_view p : expected) s.want.emplace_back(p);
    if (!s.want.empty()) out.push_back(s);  // a clean one has no bug to find
  };
  if (!a.writers.empty() || a.flows.empty())
    for (const std::string& w :
         campaign_writers(a.writers.empty() ? std::vector<std::string>{"catalog"} : a.writers)) {
      const drv::WriterInfo& info = *drv::writer_info(w);
      add(w, "", info.catalog, info.expected_properties());
    }
  if (!a.flows.empty())
    for (const std::string& f : campaign_flows(a.flows)) {
      const drv::LuFlowInfo& info = *drv::lu_flow_info(f);
      add("entry-sync", f, info.catalog, info.expected_properties());
    }
  return out;
}

struct Run1 {
  bool found = false;
  double seconds = 0;
  uint64_t execs = 0;
};

std::string fmt(const char* f, double v) {
  char b[64];
  snprintf(b, sizeof b, f, v);
  return b;
}

template <typename T>
T median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];  // N odd (5 by default): the middle one
}

int timetobug(const Args& a) {
  const std::vector<Subject> rows = subjects(a);
  if (!file_exists(target_binary(a.engine, "ops")))
    throw UsageError("no " + a.engine + " build of target 'ops' (" +
                     target_binary(a.engine, "ops") + ")");
  const std::string out = repo_root() + "/out/timetobug";
  make_dirs(out);
  std::string md =
      "| writer | catalog | property | found | median s | worst s | median execs | "
      "runs (s) |\n|---|---|---|---|---|---|---|---|\n";
  std::printf("%s", md.c_str());
  std::fflush(stdout);
  bool all = true;
  for (const Subject& sub : rows) {
    const std::vector<std::string>& want = sub.want;
    const std::string name = sub.lu.empty() ? sub.writer : "lu " + sub.lu;
    std::vector<Run1> runs;
    for (int i = 0; i < a.runs; ++i) {
      HuntSpec s;
      s.writer = sub.writer;
      s.lu = sub.lu;
      s.engine = a.engine;
      s.seconds = a.seconds;
      s.empty = true;
      s.want = want;
      s.out = out + "/" + (sub.lu.empty() ? sub.writer : "lu-" + sub.lu);
      HuntResult r = hunt(s);
      Run1 x{false, a.seconds, r.execs};
      for (const Finding& f : r.findings)
        if (std::find(want.begin(), want.end(), f.property) != want.end() &&
            (!x.found || f.seconds < x.seconds)) {
          x.found = true;
          x.seconds = f.seconds;
        }
      runs.push_back(x);
    }
    std::vector<double> secs;
    std::vector<uint64_t> execs;
    std::string each;
    size_t found = 0;
    for (const Run1& x : runs) {
      secs.push_back(x.seconds);
      execs.push_back(x.execs);
      found += x.found;
      each += (each.empty() ? "" : " ") +
              (x.found ? fmt("%.1f", x.seconds) : ">" + fmt("%.0f", a.seconds));
    }
    all &= found == runs.size();
    std::string prop;
    for (const std::string& p : want) prop += (prop.empty() ? "" : "\\|") + p;
    const std::string row =
        "| " + name + " | " + std::string(sub.catalog) + " | " + prop + " | " +
        std::to_string(found) + "/" + std::to_string(runs.size()) + " | " +
        fmt("%.1f", median(secs)) + " | " +
        (found == runs.size() ? fmt("%.1f", *std::max_element(secs.begin(), secs.end()))
                              : ">" + fmt("%.0f", a.seconds)) +
        " | " + std::to_string(median(execs)) + " | " + each + " |\n";
    md += row;
    std::printf("%s", row.c_str());
    std::fflush(stdout);
  }
  write_text(out + "/report.md", md);
  std::printf("\n%s (engine %s, %d runs each, at most %.0f s a run; out/timetobug/report.md)\n",
              all ? "every bug found in every run" : "some runs found nothing", a.engine.c_str(),
              a.runs, a.seconds);
  return all ? 0 : 1;
}

}  // namespace

Run add_timetobug(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "timetobug",
      "for each catalog writer (or live-update flow, --lu), N runs of hunt --empty chasing the "
      "properties it declares: the median and worst time and executions as a Markdown table "
      "(out/timetobug/report.md)");
  sub->add_option("--runs", a->runs, "runs per writer (default 5)")
      ->type_name("N")
      ->check(int_range(1, 99));
  sub->add_option("--time", a->seconds, "seconds a run may take at most (default 120)")
      ->type_name("S")
      ->check(positive_seconds());
  sub->add_option("--writers", a->writers,
                  "the writers: names, catalog (default: every writer with catalog ids) or all")
      ->type_name("W,...|catalog|all")
      ->delimiter(',')
      ->check(writer_or_set());
  sub->add_option("--lu", a->flows,
                  "live-update flows (writer entry-sync): names, catalog or all; alone, instead "
                  "of the writers")
      ->type_name("F,...|catalog|all")
      ->delimiter(',')
      ->check(flow_or_set());
  sub->add_option("--engine", a->engine, "the fuzzing engine (default libfuzzer)")
      ->type_name("libfuzzer|afl")
      ->check(one_of({"libfuzzer", "afl"}));
  return [a] { return timetobug(*a); };
}

}  // namespace vtd::tools

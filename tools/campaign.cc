// `vtdfuzz campaign`: the main job. Hunts each writer in turn within a total
// time budget (time a writer does not need goes to the ones after it),
// keeps fuzzing past violations (one plain libFuzzer process per writer:
// the target keeps the first input of each signature, VTDFUZZ_FINDINGS;
// AFL++ keeps going by itself) and deduplicates them by signature,
// minimizes every new finding, merges the inputs found into the working
// corpus, and prints the
// writer x property matrix (properties from oracle/properties.def) with the
// time to the first violation of each property. Writes
// out/campaign/report.md, report.json and report.html (tools/report_html.h).
// Exits 0 when every writer shows the verdict it declares when it registers
// (driver/writer.h: "clean", or properties one of which must be found), 1
// otherwise.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "driver/live_update.h"
#include "driver/writer.h"
#include "oracle/properties.h"
#include "prog/minimize.h"
#include "targets/harness.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/fuzz_options.h"
#include "tools/hunt.h"
#include "tools/process.h"
#include "tools/report_html.h"
#include "vmm/propagator.h"

namespace vtd::tools {
namespace {

std::string fmt(const char* f, double v) {
  char b[64];
  snprintf(b, sizeof b, f, v);
  return b;
}

struct Found {
  Finding f;
  size_t ops_raw = 0, ops_min = 0;
  bool fresh = false;      // a signature not seen by earlier campaigns or hunts
  bool seed = false;       // the input is a corpus file as it was: found by replay, not fuzzing
  std::string reproducer;  // minimized text form
};

struct Row {
  std::string target, writer, lu, catalog, expected, verdict;  // lu: a live-update flow's row
  bool ok = true;
  HuntResult hunt;
  std::vector<Found> found;
  std::map<std::string, double> first;  // property -> seconds to the first violation
  std::set<std::string> seeded;         // properties first seen on an unchanged corpus input

  // The first column: the writer, or the flow of a live-update row.
  std::string label() const { return lu.empty() ? writer : "lu " + lu; }

  // The exec/s cell: "-" when the engine gave no figure (a seed showed the
  // wanted violation while the corpus loaded, and nothing was fuzzed).
  std::string rate() const {
    return hunt.exec_per_sec > 0 ? fmt("%.0f", hunt.exec_per_sec) : std::string("-");
  }
  // A matrix cell: the time to the first violation, or "seed" when the corpus
  // already held an input showing it (a time that says nothing about fuzzing).
  std::string cell(const std::string& p, const char* unit) const {
    if (!first.count(p)) return "-";
    return seeded.count(p) ? "seed" : fmt(unit, first.at(p));
  }
};

// What a row fuzzes: a writer or a live-update flow (ops) or a propagator
// (viommu, twolevel), as it declares itself when it registers.
struct Subject {
  std::string name;
  std::string_view catalog, expect;
  std::vector<std::string_view> expected;
};

Subject subject(const std::string& target, const std::string& name, const std::string& lu) {
  if (!lu.empty()) {
    const drv::LuFlowInfo& f = *drv::lu_flow_info(lu);
    return {lu, f.catalog, f.expect, f.expected_properties()};
  }
  if (viommu_target(target)) {
    const vmm::PropagatorInfo& p = *vmm::propagator_info(name);
    return {name, p.catalog, p.expect, p.expected_properties()};
  }
  const drv::WriterInfo& w = *drv::writer_info(name);
  return {name, w.catalog, w.expect, w.expected_properties()};
}

// Minimizes an engine input (op level, same signature) and keeps it under
// out/findings/<writer or propagator>/ and the campaign directory.
Found keep_finding(const Finding& f, const HuntSpec& s, const std::string& dir) {
  Found k;
  k.f = f;
  prog::Program p = input_program(read_text(f.input), s);
  k.ops_raw = p.ops.size();
  harness::Options o;
  o.writer = s.writer;
  o.viommu = s.viommu;
  o.lu = flow_of(s);
  harness::Result r = harness::run(p, o);
  // The report line of the program as kept: after minimization the op
  // index, device and store differ from the engine's input.
  std::string line = f.line;
  if (r.violated) {
    p = minimize::minimize(
        p, harness::same_signature(s.writer, r.violation.signature, s.viommu, flow_of(s)));
    harness::Result m = harness::run(p, o);
    if (m.violated) line = harness::summary_line(m);
  }
  p.writer = s.writer;
  k.ops_min = p.ops.size();
  const std::string keep = findings_dir(s);
  const std::string stem = keep + "/" + f.property + "-" + f.sig;
  k.fresh = !file_exists(stem + ".txt");
  make_dirs(keep);
  k.reproducer = "# " + line + "\n" + prog::to_text(p);
  for (const std::string& s : {stem, dir + "/" + f.property + "-" + f.sig}) {
    write_text(s + ".txt", k.reproducer);
    write_bytes(s + ".bin", prog::encode(p));
  }
  return k;
}

// The verdict the writer, live-update flow or propagator declares
// (driver/writer.h, driver/live_update.h, vmm/propagator.h), held against what the row found.
void judge(Row& row, const Subject& info) {
  row.catalog = info.catalog.empty() ? "-" : std::string(info.catalog);
  if (info.expect.empty()) {
    row.expected = "?";
    row.verdict = "no expectation";
  } else if (info.expect == "clean") {
    row.expected = "clean";
    row.ok = row.hunt.findings.empty();
    row.verdict = row.ok ? "ok" : "UNEXPECTED violation";
  } else {
    row.expected = std::string(info.expect);
    row.ok = false;
    for (std::string_view p : info.expected) row.ok |= row.first.count(std::string(p)) != 0;
    row.verdict = row.ok ? "ok" : "MISSED";
  }
}

std::vector<std::string> wanted(const Subject& info) {
  std::vector<std::string> v;
  for (std::string_view p : info.expected) v.emplace_back(p);
  return v;
}

void print_header() {
  std::printf("%-20s %-12s", "writer", "catalog");
  for (const oracle::PropertyInfo& p : oracle::properties()) std::printf(" %7s", p.name);
  std::printf("  %-9s %-8s %s\n", "exec/s", "expected", "verdict");
}

void print_row(const Row& row) {
  std::printf("%-20s %-12s", row.label().c_str(), row.catalog.c_str());
  for (const oracle::PropertyInfo& p : oracle::properties())
    std::printf(" %7s", row.cell(p.name, "%.1fs").c_str());
  std::printf("  %-9s %-8s %s\n", row.rate().c_str(), row.expected.c_str(), row.verdict.c_str());
  std::fflush(stdout);
}

// Fuzzes one writer (or live-update flow, or propagator) on one target
// with its share of the time left.
Row run_row(const FuzzOptions& o, const std::string& target, const std::string& w,
            const std::string& lu, const std::string& work,
            const std::set<std::string>& corpus_inputs, double seconds, const std::string& out) {
  const Subject info = subject(target, w, lu);
  HuntSpec s;
  s.target = target;
  s.lu = lu;
  if (viommu_target(target)) {
    s.viommu = w;
    if (target == "twolevel") s.writer = "entry-sync";  // the guest's writer
  } else {
    s.writer = w;
  }
  s.engine = o.engine;
  s.seconds = seconds;
  s.keep_going = true;
  s.jobs = o.jobs;
  s.seeds = work;
  s.want = wanted(info);
  s.out = out + "/" + target + "-" + (lu.empty() ? w : "lu-" + lu);
  Row row;
  row.target = target;
  row.writer = w;
  row.lu = lu;
  row.hunt = hunt(s);
  for (const Finding& f : row.hunt.findings) {
    bool seed = !f.input.empty() && corpus_inputs.count(read_text(f.input));
    if (!row.first.count(f.property)) {
      row.first[f.property] = f.seconds;
      if (seed) row.seeded.insert(f.property);
    }
    if (!f.input.empty() && file_exists(f.input)) {
      row.found.push_back(keep_finding(f, s, s.out));
      row.found.back().seed = seed;
    }
  }
  judge(row, info);
  return row;
}

// Merges what the engines found back into the working corpora; one note
// line per target.
std::string merge_back(const std::string& engine,
                       const std::map<std::string, std::vector<std::string>>& found_corpora,
                       const std::string& out) {
  const std::string root = repo_root();
  std::string note;
  for (const auto& [target, dirs] : found_corpora) {
    if (engine != "libfuzzer" || !file_exists(target_binary("libfuzzer", target))) break;
    const std::string work = root + "/out/corpus/" + target;
    const std::string next = out + "/merged-" + target;
    std::vector<std::string> ins = {work};
    ins.insert(ins.end(), dirs.begin(), dirs.end());
    MergeResult m = merge_corpus(target, "entry-sync", next, ins);
    remove_tree(work);
    make_dirs(work);
    for (const std::string& f : list_dir(next))
      write_text(work + "/" + f, read_text(next + "/" + f));
    remove_tree(next);
    note += "corpus " + target + ": " + std::to_string(m.inputs) +
            " inputs (seeds and found) merged to " + std::to_string(m.after) + " (out/corpus/" +
            target + ")\n";
  }
  return note;
}

const char* const kLegend =
    "seed: an input of the working corpus shows it as it is (found by replay, not by fuzzing)\n";

std::string report_md(const std::string& engine, double budget, const std::vector<Row>& rows,
                      const std::string& merge_note, const std::string& summary) {
  std::string md = "# vtdfuzz campaign\n\nengine " + engine + ", " + fmt("%.0f", budget) +
                   " s in all\n\n| writer | catalog | ";
  for (const oracle::PropertyInfo& p : oracle::properties()) md += std::string(p.name) + " | ";
  md += "exec/s | coverage | expected | verdict |\n|---|---|";
  for (size_t i = 0; i < oracle::properties().size() + 4; ++i) md += "---|";
  md += "\n";
  for (const Row& r : rows) {
    md += "| " + r.label() + " | " + r.catalog + " | ";
    for (const oracle::PropertyInfo& p : oracle::properties())
      md += r.cell(p.name, "%.1f s") + " | ";
    md += r.rate() + " | " + std::to_string(r.hunt.edges) + " | " + r.expected + " | " + r.verdict +
          " |\n";
  }
  md += std::string("\n") + kLegend + "\n" + merge_note + "\n" + summary + "\n## Findings\n\n";
  for (const Row& r : rows)
    for (const Found& f : r.found)
      md += "### " + r.label() + " " + f.f.property + " (sig " + f.f.sig + ", " +
            fmt("%.1f", f.f.seconds) + " s" + (f.fresh ? ", new" : "") +
            (f.seed ? ", a corpus input" : "") + ", " + std::to_string(f.ops_raw) + " -> " +
            std::to_string(f.ops_min) + " ops)\n\n```\n" + f.reproducer + "```\n\n";
  return md;
}

// Figures as the text reports round them: whole numbers and tenths.
long long whole(double v) {
  return std::llround(v);
}
double tenths(double v) {
  return std::round(v * 10) / 10;
}

std::string report_json(const std::string& engine, double budget, const std::vector<Row>& rows,
                        const std::vector<size_t>& min_ops, bool all_ok) {
  using Json = nlohmann::ordered_json;
  Json js = {{"engine", engine}, {"seconds", whole(budget)}};
  Json& props = js["properties"] = Json::array();
  for (const oracle::PropertyInfo& p : oracle::properties())
    props.push_back({{"name", p.name}, {"title", p.title}});
  Json& rows_js = js["rows"] = Json::array();
  for (const Row& r : rows) {
    Json row = {{"target", r.target},
                {"writer", r.writer},
                {"lu", r.lu},
                {"catalog", r.catalog == "-" ? "" : r.catalog},
                {"expected", r.expected},
                {"verdict", r.verdict},
                {"ok", r.ok},
                {"seconds", tenths(r.hunt.seconds)},
                {"execs", r.hunt.execs},
                {"exec_per_sec", whole(r.hunt.exec_per_sec)},
                {"coverage", r.hunt.edges}};
    Json& first = row["first"] = Json::object();
    for (const auto& [p, t] : r.first)
      first[p] = {{"seconds", tenths(t)}, {"seed", r.seeded.count(p) > 0}};
    Json& findings = row["findings"] = Json::array();
    for (const Found& f : r.found)
      findings.push_back({{"property", f.f.property},
                          {"signature", f.f.sig},
                          {"seconds", tenths(f.f.seconds)},
                          {"new", f.fresh},
                          {"from_seed", f.seed},
                          {"ops", f.ops_raw},
                          {"ops_minimized", f.ops_min},
                          {"summary", f.f.line},
                          {"reproducer", f.reproducer}});
    rows_js.push_back(std::move(row));
  }
  js["median_minimized_ops"] = min_ops.empty() ? Json(nullptr) : Json(min_ops[min_ops.size() / 2]);
  js["ok"] = all_ok;
  return js.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

int run_campaign(const FuzzOptions& o) {
  check_fuzz_options(o, FuzzCommand::Campaign);
  const std::vector<std::string> writers = campaign_writers(o.writers);
  const std::vector<std::string> flows = campaign_flows(o.flows);
  const std::vector<std::string> propagators = campaign_propagators(o.viommus);
  // A row's (writer or propagator, live-update flow): on ops the writers',
  // then live update's (writer entry-sync, DESIGN.md section 12).
  auto subjects = [&](const std::string& target) {
    std::vector<std::pair<std::string, std::string>> runs;
    if (viommu_target(target)) {
      for (const std::string& p : propagators) runs.push_back({p, ""});
      return runs;
    }
    for (const std::string& w : writers) runs.push_back({w, ""});
    for (const std::string& f : flows) runs.push_back({"entry-sync", f});
    return runs;
  };
  const std::string& engine = o.engine;
  const double budget = o.seconds;
  const std::string root = repo_root();
  const std::string out = root + "/out/campaign";
  remove_tree(out);
  make_dirs(out);
  std::printf("campaign: %s; %s; %.0f s in all, %d job%s\n\n", engine.c_str(),
              o.targets.size() == 1 ? o.targets[0].c_str() : "several targets", budget, o.jobs,
              o.jobs > 1 ? "s" : "");
  print_header();

  std::vector<Row> rows;
  bool all_ok = true;
  // The budget is wall time for the whole job: each row gets an equal share
  // of what is left, after what the rows before it really took (fuzzing,
  // replaying seeds, minimizing), and after the merge at the end, which
  // replays every input the rows left (at 500 inputs/s under ASan on a
  // loaded machine: 14,194 inputs took 24 s) and keeps a twentieth at least.
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  size_t to_merge = 0;  // inputs the final merge will replay
  auto merge_reserve = [&] { return std::max(budget / 20, double(to_merge) / 500); };
  // A row adds inputs as it fuzzes (one row of 170 s added 10,107): its
  // share leaves room for merging them, at the rate the rows so far kept.
  double fuzzed = 0, kept = 0;
  auto inputs_per_second = [&] { return fuzzed > 10 ? kept / fuzzed : 50.0; };
  size_t runs_left = 0;
  for (const std::string& target : o.targets) runs_left += subjects(target).size();
  std::map<std::string, std::vector<std::string>> found_corpora;  // target -> work corpora
  for (const std::string& target : o.targets) {
    // The working corpus: starts as the seeds, grows by merging.
    const std::string work = root + "/out/corpus/" + target;
    if (list_dir(work).empty()) {
      make_dirs(work);
      for (const std::string& f : list_dir(root + "/corpus/" + target))
        write_text(work + "/" + f, read_text(root + "/corpus/" + target + "/" + f));
    }
    to_merge += count_files(work);
    std::set<std::string> corpus_inputs;
    for (const std::string& dir : {work, root + "/corpus/" + target})
      for (const std::string& f : list_dir(dir)) corpus_inputs.insert(read_text(dir + "/" + f));
    for (const auto& [w, lu] : subjects(target)) {
      const double left = budget - merge_reserve() - elapsed();
      const double share = std::max(5.0, left / (double(runs_left--) + inputs_per_second() / 500));
      Row row = run_row(o, target, w, lu, work, corpus_inputs, share, out);
      if (!row.hunt.corpus.empty()) {
        found_corpora[target].push_back(row.hunt.corpus);
        const size_t n = count_files(row.hunt.corpus);
        to_merge += n;
        kept += double(n);
        fuzzed += row.hunt.seconds;
      }
      all_ok &= row.ok;
      print_row(row);
      rows.push_back(std::move(row));
    }
  }
  const std::string merge_note = merge_back(engine, found_corpora, out);

  std::vector<size_t> min_ops;
  for (const Row& r : rows)
    for (const Found& f : r.found) min_ops.push_back(f.ops_min);
  std::sort(min_ops.begin(), min_ops.end());
  const std::string median = min_ops.empty() ? "-" : std::to_string(min_ops[min_ops.size() / 2]);
  const std::string summary = "findings: " + std::to_string(min_ops.size()) +
                              " signatures, median " + median + " ops after minimization\n";
  write_text(out + "/report.md", report_md(engine, budget, rows, merge_note, summary));
  const std::string json = report_json(engine, budget, rows, min_ops, all_ok);
  write_text(out + "/report.json", json);
  write_text(out + "/report.html", report_html(json));
  std::printf("\n%s%s%s", kLegend, merge_note.c_str(), summary.c_str());
  // A row declared clean that is not: its reproducers, here and not only in
  // out/campaign, for a CI log is often all there is to judge them by.
  for (const Row& r : rows) {
    if (r.ok || r.expected != "clean") continue;
    for (const Finding& f : r.hunt.findings) {
      auto k = std::find_if(r.found.begin(), r.found.end(),
                            [&](const Found& x) { return x.f.sig == f.sig; });
      std::printf("\nunexpected on %s%s: %s\n%s", r.lu.empty() ? "" : "lu ",
                  (r.lu.empty() ? r.writer : r.lu).c_str(),
                  k == r.found.end() ? f.line.c_str() : "minimized:",
                  k == r.found.end() ? "" : k->reproducer.c_str());
    }
  }
  std::printf("%s (out/campaign/report.md, report.json, report.html)\n",
              all_ok
                  ? "verdict ok: every writer and flow shows the verdict it declares"
                  : "verdict FAILED: some writers or flows do not show the verdict they declare");
  return all_ok ? 0 : 1;
}

}  // namespace

Run add_campaign(CLI::App& app) {
  auto o = std::make_shared<FuzzOptions>();
  CLI::App* sub = app.add_subcommand(
      "campaign",
      "the main job: fuzzes every writer, then every live-update flow (on the viommu and "
      "twolevel targets, every propagator) in turn within the time budget, prints the writer x "
      "property matrix, minimizes what it finds, writes out/campaign/report.md, report.json and "
      "report.html; exit 0 when every writer, flow and propagator shows the verdict it declares; "
      "the working corpus grows in out/corpus/ and is merged back after each run");
  add_fuzz_options(*sub, *o, FuzzCommand::Campaign);
  return [o] { return run_campaign(*o); };
}

}  // namespace vtd::tools

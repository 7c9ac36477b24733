// `vtdfuzz campaign`: the main job. Hunts each writer in turn within a total
// time budget (time a writer does not need goes to the ones after it),
// keeps fuzzing past violations (libFuzzer -fork -ignore_crashes, AFL++
// keeps going) and deduplicates them by signature, minimizes every new
// finding, merges the inputs found into the working corpus, and prints the
// writer x property matrix with the time to the first violation of each
// property. Writes out/campaign/report.md and report.json. Exits 0 when
// the verdicts match DESIGN.md section 5, 1 otherwise.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "driver/writer.h"
#include "targets/harness.h"
#include "prog/minimize.h"
#include "tools/commands.h"
#include "tools/hunt.h"
#include "tools/process.h"

namespace vtd::tools {
namespace {

// DESIGN.md section 5: one of `any_of` must be found (none when empty).
// Ordered so that the writers likely to stop early come first.
struct Expected {
  const char* writer;
  std::vector<std::string> any_of;
  const char* why;
};
const Expected kExpected[] = {
    {"legacy", {"P1"}, "torn entries"},
    {"atomic128-v1", {"P3"}, "replace not hitless when the DID changes"},
    {"fs-inplace-did", {"P5"}, "DID aliasing"},
    {"cache-tag-late", {"P4", "P2"}, "stale IOTLB after an unmap racing the replace"},
    {"teardown-replace", {}, "clean, never hitless"},
    {"entry-sync", {}, "clean"},
    {"entry-sync-tempdid", {}, "clean and hitless"},
};
const char* const kProps[] = {"P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"};

const Expected* expected_for(const std::string& w) {
  for (const Expected& e : kExpected)
    if (w == e.writer) return &e;
  return nullptr;
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o + "\"";
}

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
  std::string target, writer, expected, verdict;
  bool ok = true;
  HuntResult hunt;
  std::vector<Found> found;
  std::map<std::string, double> first;  // property -> seconds to the first violation
  std::set<std::string> seeded;         // properties first seen on an unchanged corpus input

  // A matrix cell: the time to the first violation, or "seed" when the corpus
  // already held an input showing it (a time that says nothing about fuzzing).
  std::string cell(const std::string& p, const char* unit) const {
    if (!first.count(p)) return "-";
    return seeded.count(p) ? "seed" : fmt(unit, first.at(p));
  }
};

// Minimizes an engine input (op level, same signature) and keeps it under
// out/findings/<writer>/ and the campaign directory.
Found keep_finding(const Finding& f, const std::string& writer, const std::string& dir) {
  Found k;
  k.f = f;
  std::string bytes = read_text(f.input);
  prog::Program p = prog::decode({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  p.writer = writer;
  k.ops_raw = p.ops.size();
  harness::Options o;
  o.writer = writer;
  harness::Result r = harness::run(p, o);
  // The report line of the program as kept: after minimization the op
  // index, device and store differ from the engine's input.
  std::string line = f.line;
  if (r.violated) {
    p = minimize::minimize(p, harness::same_signature(writer, r.violation.signature));
    harness::Result m = harness::run(p, o);
    if (m.violated) line = harness::summary_line(m);
  }
  p.writer = writer;
  k.ops_min = p.ops.size();
  const std::string keep = repo_root() + "/out/findings/" + writer;
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

}  // namespace

int cmd_campaign(const Args& args) {
  double budget = 300;
  std::string engine = "libfuzzer";
  std::vector<std::string> writers, targets = {"ops"};
  int jobs = 1;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
      return args[++i];
    };
    if (a == "--time") {
      std::string v = value();
      char* end = nullptr;
      budget = strtod(v.c_str(), &end);
      if (*end || budget <= 0)
        throw UsageError("--time needs a positive number of seconds, got '" + v + "'");
    } else if (a == "--engine") {
      engine = value();
      if (engine != "libfuzzer" && engine != "afl")
        throw UsageError("unknown engine '" + engine + "' (libfuzzer, afl)");
    } else if (a == "--writers") {
      writers = split_list(value());
      for (const std::string& w : writers)
        if (!drv::make_writer(w))
          throw UsageError("unknown writer '" + w + "' (see ./vtdfuzz writers)");
    } else if (a == "--targets") {
      targets = split_list(value());
      for (const std::string& t : targets) {
        refuse_writerless_target(engine, t);
        if (!file_exists(target_binary(engine, t)) && t != "ops")
          throw UsageError("unknown target '" + t + "' (no " + target_binary(engine, t) + ")");
      }
    } else if (a == "--jobs") {
      std::string v = value();
      jobs = atoi(v.c_str());
      if (jobs < 1 || jobs > 64) throw UsageError("--jobs needs 1..64, got '" + v + "'");
    } else {
      throw UsageError("unknown argument '" + a + "'");
    }
  }
  if (writers.empty())
    for (const Expected& e : kExpected) writers.push_back(e.writer);

  const std::string root = repo_root();
  const std::string out = root + "/out/campaign";
  remove_tree(out);
  make_dirs(out);
  std::printf("campaign: %s; %s; %.0f s in all, %d job%s\n\n", engine.c_str(),
              targets.size() == 1 ? targets[0].c_str() : "several targets", budget, jobs,
              jobs > 1 ? "s" : "");
  std::printf("%-20s", "writer");
  for (const char* p : kProps) std::printf(" %7s", p);
  std::printf("  %-9s %-8s %s\n", "exec/s", "expected", "verdict");

  std::vector<Row> rows;
  bool all_ok = true;
  double left = budget;
  size_t runs_left = targets.size() * writers.size();
  std::map<std::string, std::vector<std::string>> found_corpora;  // target -> work corpora
  for (const std::string& target : targets) {
    // The working corpus: starts as the seeds, grows by merging.
    const std::string work = root + "/out/corpus/" + target;
    if (list_dir(work).empty()) {
      make_dirs(work);
      for (const std::string& f : list_dir(root + "/corpus/" + target))
        write_text(work + "/" + f, read_text(root + "/corpus/" + target + "/" + f));
    }
    std::set<std::string> corpus_inputs;
    for (const std::string& dir : {work, root + "/corpus/" + target})
      for (const std::string& f : list_dir(dir)) corpus_inputs.insert(read_text(dir + "/" + f));
    for (const std::string& w : writers) {
      const Expected* exp = expected_for(w);
      HuntSpec s;
      s.target = target;
      s.writer = w;
      s.engine = engine;
      s.seconds = std::max(5.0, left / double(runs_left--));
      s.keep_going = true;
      s.jobs = jobs;
      s.seeds = work;
      if (exp) s.want = exp->any_of;
      s.out = out + "/" + target + "-" + w;
      Row row;
      row.target = target;
      row.writer = w;
      row.hunt = hunt(s);
      left -= std::min(row.hunt.seconds, s.seconds);
      if (!row.hunt.corpus.empty()) found_corpora[target].push_back(row.hunt.corpus);
      for (const Finding& f : row.hunt.findings) {
        bool seed = !f.input.empty() && corpus_inputs.count(read_text(f.input));
        if (!row.first.count(f.property)) {
          row.first[f.property] = f.seconds;
          if (seed) row.seeded.insert(f.property);
        }
        if (!f.input.empty() && file_exists(f.input)) {
          row.found.push_back(keep_finding(f, w, s.out));
          row.found.back().seed = seed;
        }
      }
      if (!exp) {
        row.expected = "?";
        row.verdict = "no expectation";
      } else if (exp->any_of.empty()) {
        row.expected = "clean";
        row.ok = row.hunt.findings.empty();
        row.verdict = row.ok ? "ok" : "UNEXPECTED violation";
      } else {
        row.ok = false;
        for (const std::string& p : exp->any_of) {
          row.expected += (row.expected.empty() ? "" : "|") + p;
          row.ok |= row.first.count(p) != 0;
        }
        row.verdict = row.ok ? "ok" : "MISSED";
      }
      all_ok &= row.ok;
      std::printf("%-20s", w.c_str());
      for (const char* p : kProps) std::printf(" %7s", row.cell(p, "%.1fs").c_str());
      std::printf("  %-9.0f %-8s %s\n", row.hunt.exec_per_sec, row.expected.c_str(),
                  row.verdict.c_str());
      std::fflush(stdout);
      rows.push_back(std::move(row));
    }
  }

  // Merge what the engines found back into the working corpora.
  std::string merge_note;
  for (auto& [target, dirs] : found_corpora) {
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
    merge_note += "corpus " + target + ": " + std::to_string(m.inputs) +
                  " inputs (seeds and found) merged to " + std::to_string(m.after) +
                  " (out/corpus/" + target + ")\n";
  }

  // report.md and report.json
  std::string md = "# vtdfuzz campaign\n\nengine " + engine + ", " + fmt("%.0f", budget) +
                   " s in all\n\n| writer | ";
  for (const char* p : kProps) md += std::string(p) + " | ";
  md += "exec/s | coverage | expected | verdict |\n|---|";
  for (size_t i = 0; i < 8 + 4; ++i) md += "---|";
  md += "\n";
  std::string js = "{\n  \"engine\": " + json_str(engine) +
                   ",\n  \"seconds\": " + fmt("%.0f", budget) + ",\n  \"rows\": [\n";
  std::vector<size_t> min_ops;
  for (size_t i = 0; i < rows.size(); ++i) {
    Row& r = rows[i];
    md += "| " + r.writer + " | ";
    for (const char* p : kProps) md += r.cell(p, "%.1f s") + " | ";
    md += fmt("%.0f", r.hunt.exec_per_sec) + " | " + std::to_string(r.hunt.edges) + " | " +
          r.expected + " | " + r.verdict + " |\n";
    js += "    {\"target\": " + json_str(r.target) + ", \"writer\": " + json_str(r.writer) +
          ", \"expected\": " + json_str(r.expected) + ", \"verdict\": " + json_str(r.verdict) +
          ", \"ok\": " + (r.ok ? "true" : "false") +
          ", \"seconds\": " + fmt("%.1f", r.hunt.seconds) +
          ", \"execs\": " + std::to_string(r.hunt.execs) +
          ", \"exec_per_sec\": " + fmt("%.0f", r.hunt.exec_per_sec) +
          ", \"coverage\": " + std::to_string(r.hunt.edges) + ", \"findings\": [";
    for (size_t k = 0; k < r.found.size(); ++k) {
      const Found& f = r.found[k];
      min_ops.push_back(f.ops_min);
      js += std::string(k ? ", " : "") + "{\"property\": " + json_str(f.f.property) +
            ", \"signature\": " + json_str(f.f.sig) + ", \"seconds\": " + fmt("%.1f", f.f.seconds) +
            ", \"new\": " + (f.fresh ? "true" : "false") +
            ", \"from_seed\": " + (f.seed ? "true" : "false") +
            ", \"ops\": " + std::to_string(f.ops_raw) +
            ", \"ops_minimized\": " + std::to_string(f.ops_min) +
            ", \"summary\": " + json_str(f.f.line) + ", \"reproducer\": " + json_str(f.reproducer) +
            "}";
    }
    js += std::string("]}") + (i + 1 < rows.size() ? "," : "") + "\n";
  }
  std::sort(min_ops.begin(), min_ops.end());
  std::string median = min_ops.empty() ? "-" : std::to_string(min_ops[min_ops.size() / 2]);
  const char* legend =
      "seed: an input of the working corpus shows it as it is (found by replay, not by fuzzing)\n";
  md += std::string("\n") + legend + "\n" + merge_note +
        "\nfindings: " + std::to_string(min_ops.size()) + " signatures, median " + median +
        " ops after minimization\n\n## Findings\n\n";
  for (const Row& r : rows)
    for (const Found& f : r.found)
      md += "### " + r.writer + " " + f.f.property + " (sig " + f.f.sig + ", " +
            fmt("%.1f", f.f.seconds) + " s" + (f.fresh ? ", new" : "") +
            (f.seed ? ", a corpus input" : "") + ", " + std::to_string(f.ops_raw) + " -> " +
            std::to_string(f.ops_min) + " ops)\n\n```\n" + f.reproducer + "```\n\n";
  js += "  ],\n  \"median_minimized_ops\": " + (min_ops.empty() ? std::string("null") : median) +
        ",\n  \"ok\": " + (all_ok ? "true" : "false") + "\n}\n";
  write_text(out + "/report.md", md);
  write_text(out + "/report.json", js);
  std::printf("\n%s%s", legend, merge_note.c_str());
  std::printf("findings: %zu signatures, median %s ops after minimization\n", min_ops.size(),
              median.c_str());
  std::printf("%s (out/campaign/report.md, report.json)\n",
              all_ok ? "verdict ok: every writer matches DESIGN.md section 5"
                     : "verdict FAILED: some writers do not match DESIGN.md section 5");
  return all_ok ? 0 : 1;
}

}  // namespace vtd::tools

// `vtdfuzz campaign`: hunts each writer in turn and prints the writer x
// property matrix with the time to the first violation of each property;
// exits 0 when the verdicts match DESIGN.md section 5.
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "driver/writer.h"
#include "targets/harness.h"
#include "tools/commands.h"
#include "tools/hunt.h"
#include "tools/process.h"

namespace vtd::tools {
namespace {

// DESIGN.md section 5: the expected verdict of each writer (one of the
// listed properties must be found; none when the list is empty).
struct Expected {
  const char* writer;
  std::vector<std::string> any_of;
  const char* why;
};
const Expected kExpected[] = {
    {"legacy", {"P1"}, "torn entries"},
    {"atomic128-v1", {"P3"}, "replace not hitless when the DID changes"},
    {"teardown-replace", {}, "clean, never hitless"},
    {"fs-inplace-did", {"P5"}, "DID aliasing"},
    {"cache-tag-late", {"P4", "P2"}, "stale IOTLB after an unmap racing the replace"},
    {"entry-sync", {}, "clean"},
    {"entry-sync-tempdid", {}, "clean and hitless"},
};

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

}  // namespace

int cmd_campaign(const Args& args) {
  double seconds = 30;
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
      seconds = strtod(v.c_str(), &end);
      if (*end || seconds <= 0)
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
      for (const std::string& t : targets)
        if (t != "ops") throw UsageError("unknown target '" + t + "' (ops)");
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

  const std::string out = repo_root() + "/out/campaign";
  remove_tree(out);
  make_dirs(out);
  static const char* const kProps[] = {"P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"};
  std::printf("campaign: %s, %s, %.0f s per writer\n\n", targets.front().c_str(), engine.c_str(),
              seconds);
  std::printf("%-20s", "writer");
  for (const char* p : kProps) std::printf(" %7s", p);
  std::printf("  %-10s %s\n", "expected", "verdict");

  struct Row {
    std::string writer, target, verdict, expected;
    HuntResult hunt;
    bool ok;
  };
  std::vector<Row> rows;
  bool all_ok = true;
  for (const std::string& target : targets) {
    for (const std::string& w : writers) {
      const Expected* exp = expected_for(w);
      HuntSpec s;
      s.target = target;
      s.writer = w;
      s.engine = engine;
      s.seconds = seconds;
      s.keep_going = true;
      s.jobs = jobs;
      if (exp) s.want = exp->any_of;
      s.out = out + "/" + target + "-" + w;
      Row row{w, target, "", "", hunt(s), true};
      std::map<std::string, double> first;
      for (const Finding& f : row.hunt.findings)
        if (!first.count(f.property)) first[f.property] = f.seconds;
      std::printf("%-20s", w.c_str());
      for (const char* p : kProps) {
        if (first.count(p))
          std::printf(" %6.1fs", first[p]);
        else
          std::printf(" %7s", "-");
      }
      if (!exp) {
        row.expected = "?";
        row.verdict = "no expectation";
      } else if (exp->any_of.empty()) {
        row.expected = "clean";
        row.ok = row.hunt.findings.empty();
        row.verdict = row.ok ? "ok" : "UNEXPECTED violation";
      } else {
        for (const std::string& p : exp->any_of)
          row.expected += (row.expected.empty() ? "" : "|") + p;
        row.ok = false;
        for (const std::string& p : exp->any_of) row.ok |= first.count(p) != 0;
        row.verdict = row.ok ? "ok" : "MISSED";
      }
      all_ok &= row.ok;
      std::printf("  %-10s %s\n", row.expected.c_str(), row.verdict.c_str());
      std::fflush(stdout);
      // A readable reproducer for every new signature.
      int n = 0;
      for (Finding& f : row.hunt.findings) {
        if (f.input.empty() || !file_exists(f.input)) continue;
        std::string stem = s.out + "/" + f.property + "-" + f.sig;
        save_reproducer(f.input, w, stem);
        f.input = stem + ".txt";
        ++n;
      }
      rows.push_back(std::move(row));
    }
  }

  // report.md and report.json
  std::string md = "# vtdfuzz campaign\n\n" + std::string("engine ") + engine + ", " +
                   std::to_string(int(seconds)) + " s per writer\n\n| writer | ";
  for (const char* p : kProps) md += std::string(p) + " | ";
  md += "expected | verdict | exec/s |\n|---|";
  for (size_t i = 0; i < 8; ++i) md += "---|";
  md += "---|---|---|\n";
  std::string js = "{\n  \"engine\": " + json_str(engine) +
                   ",\n  \"seconds_per_writer\": " + std::to_string(seconds) +
                   ",\n  \"writers\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::map<std::string, double> first;
    for (const Finding& f : r.hunt.findings)
      if (!first.count(f.property)) first[f.property] = f.seconds;
    md += "| " + r.writer + " | ";
    for (const char* p : kProps) {
      char b[32];
      snprintf(b, sizeof b, "%.1f s", first.count(p) ? first[p] : 0.0);
      md += (first.count(p) ? std::string(b) : "-") + " | ";
    }
    char eps[32];
    snprintf(eps, sizeof eps, "%.0f", r.hunt.exec_per_sec);
    md += r.expected + " | " + r.verdict + " | " + eps + " |\n";
    js += "    {\"writer\": " + json_str(r.writer) + ", \"target\": " + json_str(r.target) +
          ", \"expected\": " + json_str(r.expected) + ", \"verdict\": " + json_str(r.verdict) +
          ", \"ok\": " + (r.ok ? "true" : "false") +
          ", \"execs\": " + std::to_string(r.hunt.execs) + ", \"exec_per_sec\": " + eps +
          ", \"seconds\": " + std::to_string(r.hunt.seconds) + ", \"findings\": [";
    for (size_t k = 0; k < r.hunt.findings.size(); ++k) {
      const Finding& f = r.hunt.findings[k];
      js += std::string(k ? ", " : "") + "{\"property\": " + json_str(f.property) +
            ", \"signature\": " + json_str(f.sig) + ", \"seconds\": " + std::to_string(f.seconds) +
            ", \"reproducer\": " + json_str(f.input) + ", \"summary\": " + json_str(f.line) + "}";
    }
    js += std::string("]}") + (i + 1 < rows.size() ? "," : "") + "\n";
  }
  md += "\n## Findings\n\n";
  for (const Row& r : rows)
    for (const Finding& f : r.hunt.findings) {
      md += "### " + r.writer + ": " + f.property + " (sig " + f.sig + ", after " +
            std::to_string(int(f.seconds)) + " s)\n\n`" + f.line + "`\n\n";
      if (file_exists(f.input)) md += "```\n" + read_text(f.input) + "```\n\n";
    }
  js += "  ],\n  \"ok\": " + std::string(all_ok ? "true" : "false") + "\n}\n";
  write_text(out + "/report.md", md);
  write_text(out + "/report.json", js);
  std::printf("\n%s: %s (report: out/campaign/report.md, report.json)\n",
              all_ok ? "verdict ok" : "verdict FAILED",
              all_ok ? "every writer matches DESIGN.md section 5"
                     : "some writers do not match DESIGN.md section 5");
  return all_ok ? 0 : 1;
}

}  // namespace vtd::tools

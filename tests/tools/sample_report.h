// A campaign's report.json, made the way tools/campaign.cc makes it, from
// catalog reproducers instead of a fuzzing run: rows that found what they
// declare (one from a corpus input, "seed"), a clean row, a row that found
// a property it does not declare, one that missed. The picture tests and
// the browser test render it.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "oracle/properties.h"
#include "prog/program.h"
#include "targets/harness.h"

namespace vtd::testing {

inline std::string catalog_text(const std::string& root, const std::string& name) {
  std::ifstream f(root + "/corpus/catalog/" + name);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A finding as the campaign keeps it: "# <summary line>" and the program.
inline nlohmann::ordered_json sample_finding(const std::string& root, const std::string& name,
                                             double seconds, bool seed) {
  prog::Program p;
  std::string err;
  prog::parse(catalog_text(root, name), &p, &err);
  harness::Options o;
  harness::Result r = harness::run(p, o);
  char sig[20];
  std::snprintf(sig, sizeof sig, "%016llx", static_cast<unsigned long long>(r.violation.signature));
  return {{"property", oracle::property_name(r.violation.property)},
          {"signature", sig},
          {"seconds", seconds},
          {"new", !seed},
          {"from_seed", seed},
          {"ops", p.ops.size() + 3},
          {"ops_minimized", p.ops.size()},
          {"summary", harness::summary_line(r)},
          {"reproducer", "# " + harness::summary_line(r) + "\n" + prog::to_text(p)}};
}

inline std::string sample_report_json(const std::string& root) {
  using Json = nlohmann::ordered_json;
  Json js = {{"engine", "libfuzzer"}, {"seconds", 60}};
  Json& props = js["properties"] = Json::array();
  for (const oracle::PropertyInfo& p : oracle::properties())
    props.push_back({{"name", p.name}, {"title", p.title}});
  auto row = [](const char* w, const char* catalog, const char* expected, bool ok,
                const char* verdict, double exec, double cov) {
    return Json{{"target", "ops"},         {"writer", w},
                {"catalog", catalog},      {"expected", expected},
                {"verdict", verdict},      {"ok", ok},
                {"seconds", 15.0},         {"execs", int(exec * 15)},
                {"exec_per_sec", exec},    {"coverage", cov},
                {"first", Json::object()}, {"findings", Json::array()}};
  };
  Json& rows = js["rows"] = Json::array();
  Json legacy = row("legacy", "B1 B2 B3 B9", "P1", true, "ok", 5210, 1432);
  legacy["first"]["P1"] = {{"seconds", 3.2}, {"seed", false}};
  legacy["first"]["P4"] = {{"seconds", 11.7}, {"seed", false}};
  legacy["findings"].push_back(
      sample_finding(root, "B01-context-halves-reordered.txt", 3.2, false));
  rows.push_back(legacy);
  rows.push_back(row("entry-sync", "", "clean", true, "ok", 4870, 1510));
  Json late = row("cache-tag-late", "B6", "P4", true, "ok", 3980, 1388);
  late["first"]["P4"] = {{"seconds", 0.4}, {"seed", true}};
  late["findings"].push_back(sample_finding(root, "B06-cache-tag-late.txt", 0.4, true));
  rows.push_back(late);
  Json did = row("fs-inplace-did", "B5", "P1|P5", true, "ok", 4100, 1402);
  did["first"]["P1"] = {{"seconds", 7.9}, {"seed", false}};
  did["findings"].push_back(sample_finding(root, "B05-fs-pointer-before-did.txt", 7.9, false));
  rows.push_back(did);
  rows.push_back(row("no-clflush", "B7", "P4", false, "MISSED", 3120, 1290));
  js["median_minimized_ops"] = 7;
  js["ok"] = false;
  return js.dump(2) + "\n";
}

}  // namespace vtd::testing

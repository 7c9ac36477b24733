#include "tools/report_html.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "prog/program.h"
#include "tools/svg.h"
#include "tools/timeline.h"

namespace vtd::tools {
namespace {

using Json = nlohmann::ordered_json;

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

const char* const kStyle = R"(
body{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;margin:24px;color:#212529;max-width:1320px}
h1{font-size:24px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dee2e6}
h3{font-size:15px;margin:22px 0 6px}.meta{color:#495057;margin:0}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-size:14px;vertical-align:middle}
.good{background:#d3f9d8;color:#2b8a3e}.bad{background:#ffe3e3;color:#c92a2a}
table.matrix{border-collapse:collapse;font-size:13px}
.matrix th,.matrix td{border:1px solid #dee2e6;padding:4px 8px;text-align:center;white-space:nowrap}
.matrix th{background:#f1f3f5}.matrix td.w{text-align:left;font-weight:bold}
td.found{background:#b2f2bb}td.other{background:#ffd8a8}td.unexpected{background:#ffa8a8}
td.seed{font-style:italic}td.expected{outline:2px dashed #8ce99a;outline-offset:-4px;color:#868e96}
td.missed{background:#fff5f5;outline:2px solid #fa5252;outline-offset:-4px;color:#c92a2a}
td.num{text-align:right;font-family:'DejaVu Sans Mono',monospace}
.bar{height:6px;background:#74c0fc;margin-top:2px}
.legend span{display:inline-block;padding:1px 8px;margin-right:6px;font-size:12px}
pre{background:#f8f9fa;border:1px solid #dee2e6;padding:8px;font-size:12px;overflow-x:auto}
.line{font-family:'DejaVu Sans Mono',monospace;font-size:12px;color:#c92a2a}
.tl svg{max-width:100%;height:auto;border:1px solid #dee2e6}
)";

// The properties a row's writer declares ("P4|P2"): one must be found.
std::set<std::string> declared(const std::string& expected) {
  std::set<std::string> s;
  if (expected == "clean" || expected == "?") return s;
  for (size_t b = 0; b <= expected.size();) {
    size_t e = expected.find('|', b);
    if (e == std::string::npos) e = expected.size();
    if (e > b) s.insert(expected.substr(b, e - b));
    b = e + 1;
  }
  return s;
}

// A matrix cell: its state (the class the colour comes from) and text.
struct Cell {
  std::string state, text, title;
};

Cell cell(const Json& row, const std::string& p) {
  const std::set<std::string> want = declared(row.value("expected", ""));
  const bool clean = row.value("expected", "") == "clean";
  const Json first = row.value("first", Json::object());
  Cell c;
  if (first.contains(p)) {
    const bool seed = first[p].value("seed", false);
    c.state = want.count(p) ? "found" : clean ? "unexpected" : "other";
    c.text = seed ? "seed" : fmt("%.1f s", first[p].value("seconds", 0.0));
    c.title = p + " first seen after " + fmt("%.1f s", first[p].value("seconds", 0.0)) +
              (seed ? " (an input of the working corpus shows it as it is)" : "") +
              (want.count(p) ? ", as the writer declares" : ", not declared");
    if (seed) c.state += " seed";
  } else if (want.count(p)) {
    c.state = row.value("ok", false) ? "expected" : "missed";
    c.text = row.value("ok", false) ? "" : "missed";
    c.title = "declared (one of " + row.value("expected", "") + " must be found)";
  }
  return c;
}

std::string matrix(const Json& js) {
  const Json& rows = js["rows"];
  double max_exec = 1, max_cov = 1;
  for (const Json& r : rows) {
    max_exec = std::max(max_exec, r.value("exec_per_sec", 0.0));
    max_cov = std::max(max_cov, r.value("coverage", 0.0));
  }
  std::string h = "<table class=\"matrix\"><thead><tr><th>writer</th><th>catalog</th>";
  for (const Json& p : js["properties"])
    h += "<th title=\"" + xml_escape(p.value("title", "")) + "\">" +
         xml_escape(p.value("name", "")) + "</th>";
  h += "<th>exec/s</th><th>coverage</th><th>expected</th><th>verdict</th></tr></thead><tbody>\n";
  for (const Json& r : rows) {
    const std::string w = r.value("writer", "");
    h += "<tr data-writer=\"" + xml_escape(w) + "\"><td class=\"w\">" + xml_escape(w) +
         "</td><td>" + xml_escape(r.value("catalog", "")) + "</td>";
    for (const Json& p : js["properties"]) {
      const std::string name = p.value("name", "");
      const Cell c = cell(r, name);
      h += "<td class=\"cell" + (c.state.empty() ? "" : " " + c.state) + "\" data-writer=\"" +
           xml_escape(w) + "\" data-property=\"" + xml_escape(name) + "\" data-state=\"" +
           xml_escape(c.state.empty() ? "none" : c.state.substr(0, c.state.find(' '))) + "\"" +
           (c.title.empty() ? "" : " title=\"" + xml_escape(c.title) + "\"") + ">" +
           xml_escape(c.text) + "</td>";
    }
    const double exec = r.value("exec_per_sec", 0.0), cov = r.value("coverage", 0.0);
    h += "<td class=\"num\">" + fmt("%.0f", exec) +
         "<div class=\"bar\" style=\"width:" + fmt("%.0f", 100 * exec / max_exec) +
         "%\"></div></td><td class=\"num\">" + fmt("%.0f", cov) +
         "<div class=\"bar\" style=\"width:" + fmt("%.0f", 100 * cov / max_cov) +
         "%\"></div></td><td>" + xml_escape(r.value("expected", "")) + "</td><td class=\"" +
         (r.value("ok", false) ? "found" : "unexpected") + "\">" +
         xml_escape(r.value("verdict", "")) + "</td></tr>\n";
  }
  h += "</tbody></table>\n<p class=\"legend\"><span class=\"found\" style=\"background:#b2f2bb\">"
       "found, as declared</span><span style=\"background:#ffa8a8\">found, the writer declares "
       "clean</span><span style=\"background:#ffd8a8\">found, not declared</span><span "
       "style=\"outline:2px dashed #8ce99a\">declared, another was found</span><span "
       "style=\"outline:2px solid #fa5252\">declared, missed</span><span><i>seed</i>: an input of "
       "the working corpus shows it as it is</span></p>\n";
  return h;
}

// The time to the first violation, one bar per writer and property.
std::string chart(const Json& js) {
  struct Bar {
    std::string label, text;
    double seconds;
    bool declared, seed;
  };
  std::vector<Bar> bars;
  double max_s = 0;
  for (const Json& r : js["rows"]) {
    const std::set<std::string> want = declared(r.value("expected", ""));
    const Json first = r.value("first", Json::object());
    for (const auto& [p, f] : first.items()) {
      const double s = f.value("seconds", 0.0);
      const bool seed = f.value("seed", false);
      bars.push_back({r.value("writer", "") + " " + p, seed ? "seed" : fmt("%.1f s", s), s,
                      want.count(p) > 0, seed});
      max_s = std::max(max_s, s);
    }
  }
  if (bars.empty()) return "<p>No violation was found.</p>\n";
  const int label_w = 230, bar_w = 720, row_h = 20;
  const int h = int(bars.size()) * row_h + 10;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"" +
                  std::to_string(label_w + bar_w + 80) + "\" height=\"" + std::to_string(h) +
                  "\" font-family=\"DejaVu Sans Mono,monospace\" font-size=\"12\">\n";
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const int y = 5 + int(i) * row_h;
    const int w = max_s > 0 ? std::max(2, int(bar_w * b.seconds / max_s)) : 2;
    s += "<text x=\"" + std::to_string(label_w - 6) + "\" y=\"" + std::to_string(y + 13) +
         "\" text-anchor=\"end\" fill=\"#212529\">" + xml_escape(b.label) + "</text><rect x=\"" +
         std::to_string(label_w) + "\" y=\"" + std::to_string(y + 3) + "\" width=\"" +
         std::to_string(b.seed ? 2 : w) + "\" height=\"12\" fill=\"" +
         (b.declared ? "#51cf66" : "#ff922b") + "\"/><text x=\"" +
         std::to_string(label_w + (b.seed ? 2 : w) + 6) + "\" y=\"" + std::to_string(y + 13) +
         "\" fill=\"#495057\">" + xml_escape(b.text) + "</text>\n";
  }
  return s + "</svg>\n";
}

// Each finding: heading, its one-line verdict, the program, its timeline.
std::string findings(const Json& js) {
  std::string h;
  size_t n = 0;
  for (const Json& r : js["rows"])
    for (const Json& f : r.value("findings", Json::array())) {
      ++n;
      const std::string w = r.value("writer", ""), prop = f.value("property", "");
      const std::string text = f.value("reproducer", "");
      // The reproducer's first line is the minimized program's verdict.
      std::string line = f.value("summary", "");
      if (text.rfind("# ", 0) == 0) line = text.substr(2, text.find('\n') - 2);
      h += "<section class=\"finding\" data-writer=\"" + xml_escape(w) + "\" data-property=\"" +
           xml_escape(prop) + "\"><h3>" + xml_escape(w + " " + prop) + " <small>(sig " +
           xml_escape(f.value("signature", "")) + ", " + fmt("%.1f s", f.value("seconds", 0.0)) +
           (f.value("new", false) ? ", new" : "") +
           (f.value("from_seed", false) ? ", a corpus input" : "") + ", " +
           std::to_string(f.value("ops", 0)) + " -&gt; " +
           std::to_string(f.value("ops_minimized", 0)) + " ops)</small></h3>\n<p class=\"line\">" +
           xml_escape(line) + "</p>\n<pre>" + xml_escape(text) + "</pre>\n";
      prog::Program p;
      std::string err, svg;
      TimelineOptions o;
      o.title = w + " " + prop + " (sig " + f.value("signature", "") + ")";
      o.details = false;  // the program and the verdict are just above
      if (prog::parse(text, &p, &err)) svg = render_timeline(p, w, o, &err);
      if (svg.empty())
        h += "<p>no timeline: " + xml_escape(err) + "</p>\n";
      else
        h += "<div class=\"tl\">" + svg.substr(svg.find("<svg")) + "</div>\n";
      h += "</section>\n";
    }
  if (!n) h = "<p>No findings.</p>\n";
  return h;
}

std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>"
         "<meta charset=\"utf-8\"/><title>" +
         xml_escape(title) + "</title><style>" + kStyle + "</style></head>\n<body>\n" + body +
         "</body>\n</html>\n";
}

}  // namespace

std::string report_html(std::string_view report_json) {
  const Json js = Json::parse(report_json, nullptr, false);
  if (js.is_discarded() || !js.is_object() || !js.contains("rows") || !js["rows"].is_array() ||
      !js.contains("properties"))
    return page("vtdfuzz campaign",
                "<h1>vtdfuzz campaign</h1><p>report.json could not be read.</p>\n");
  try {
    size_t nfound = 0;
    for (const Json& r : js["rows"]) nfound += r.value("findings", Json::array()).size();
    const bool ok = js.value("ok", false);
    const Json& median = js.contains("median_minimized_ops") ? js["median_minimized_ops"] : Json();
    std::string body =
        std::string("<h1>vtdfuzz campaign <span class=\"badge ") + (ok ? "good" : "bad") + "\">" +
        (ok ? "verdict ok" : "verdict FAILED") + "</span></h1>\n<p class=\"meta\">engine " +
        xml_escape(js.value("engine", "")) + ", " + std::to_string(js.value("seconds", 0)) +
        " s in all, " + std::to_string(js["rows"].size()) +
        " rows; findings: " + std::to_string(nfound) + " signatures" +
        (median.is_number()
             ? ", median " + std::to_string(median.get<long long>()) + " ops after minimization"
             : "") +
        "</p>\n<h2>Writer &#215; property</h2>\n" + matrix(js) +
        "<h2>Time to the first violation</h2>\n" + chart(js) + "<h2>Findings</h2>\n" + findings(js);
    return page("vtdfuzz campaign", body);
  } catch (const nlohmann::json::exception& e) {
    return page("vtdfuzz campaign", "<h1>vtdfuzz campaign</h1><p>report.json could not be read: " +
                                        xml_escape(e.what()) + "</p>\n");
  }
}

}  // namespace vtd::tools

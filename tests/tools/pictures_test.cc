// The pictures as a person would get them (tools/timeline.h,
// tools/report_html.h): every catalog reproducer's timeline is well-formed
// SVG with one lane per actor of its trace, the violation marked with its
// decoded entries, every hardware event explain prints drawn, the same
// bytes every time; the campaign report's matrix says what report.json
// says, and every finding carries its timeline.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "oracle/properties.h"
#include "tests/tools/sample_report.h"
#include "tests/tools/xml_check.h"
#include "tools/report_html.h"
#include "tools/timeline.h"

namespace vtd {
namespace {

using testing::XmlNode;
using testing::XmlReader;

const std::string kRoot = VTDFUZZ_SOURCE_DIR;

std::vector<std::string> catalog() {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(kRoot + "/corpus/catalog"))
    if (e.path().extension() == ".txt") v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

struct Drawn {
  prog::Program p;
  harness::Result r;
  std::string svg;
  XmlNode root;
};

Drawn draw(const std::string& name) {
  Drawn d;
  std::string err;
  EXPECT_TRUE(prog::parse(testing::catalog_text(kRoot, name), &d.p, &err)) << err;
  harness::Options o;
  o.trace = true;
  d.r = harness::run(d.p, o);
  tools::TimelineOptions to;
  to.title = name;
  d.svg = tools::timeline_svg(d.p, d.r, to);
  XmlReader x;
  EXPECT_TRUE(x.parse(d.svg, &d.root)) << name << ": " << x.error();
  return d;
}

std::vector<const XmlNode*> by_class(const XmlNode& n, const std::string& cls) {
  std::vector<const XmlNode*> v;
  n.find_all([&](const XmlNode& c) { return c.attr("class") == cls; }, &v);
  return v;
}

// The lanes the trace asks for, named as the picture names them: the first
// CPU always, then every actor of every event.
std::set<std::string> actors(const harness::Result& r) {
  std::set<std::string> s = {"cpu0"};
  for (const trace::OpTrace& t : r.trace)
    for (const trace::Event& e : t.events) {
      if (e.kind == trace::Kind::Step) continue;
      switch (e.actor) {
        case trace::Actor::Cpu:
          s.insert("cpu" + std::to_string(e.cpu));
          break;
        case trace::Actor::Queue:
          s.insert("queue");
          break;
        case trace::Actor::Walker:
          s.insert("walker");
          break;
        case trace::Actor::Cache:
          s.insert(std::string("cache-") + sim::cache_kind_name(e.cache));
          break;
        case trace::Actor::Dma:
          s.insert("dma-" + e.sid.str());
          break;
      }
    }
  return s;
}

TEST(Timeline, EveryCatalogReproducer_IsWellFormedSvgWithOneLanePerActorAndTheViolationMarked) {
  const std::vector<std::string> files = catalog();
  ASSERT_GE(files.size(), 14u);
  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    Drawn d = draw(f);
    ASSERT_TRUE(d.r.violated);
    EXPECT_EQ(d.root.name, "svg");
    EXPECT_EQ(d.root.attr("width"), "1280");
    // Self-contained: no scripts, nothing fetched.
    EXPECT_EQ(d.svg.find("<script"), std::string::npos);
    EXPECT_EQ(d.svg.find("href"), std::string::npos);
    EXPECT_EQ(d.svg.find("@import"), std::string::npos);
    // Every strip has one lane per actor, the same ones.
    const std::vector<const XmlNode*> strips = by_class(d.root, "strip");
    ASSERT_FALSE(strips.empty());
    for (const XmlNode* s : strips) {
      std::vector<std::string> lanes;
      for (const XmlNode* l : by_class(*s, "lane")) lanes.push_back(l->attr("data-lane"));
      EXPECT_EQ(std::set<std::string>(lanes.begin(), lanes.end()).size(), lanes.size());
      EXPECT_EQ(std::set<std::string>(lanes.begin(), lanes.end()), actors(d.r));
    }
    // One violation marker; its tooltip names the property and decodes the entries.
    const std::vector<const XmlNode*> marks = by_class(d.root, "violation");
    ASSERT_EQ(marks.size(), 1u);
    const std::string title = marks[0]->children.at(0).text;
    EXPECT_EQ(marks[0]->children.at(0).name, "title");
    EXPECT_NE(title.find(oracle::property_name(d.r.violation.property)), std::string::npos);
    for (const std::string& detail : d.r.violation.details)
      EXPECT_NE(title.find(detail), std::string::npos) << detail;
  }
}

TEST(Timeline, TornEntry_TooltipShowsTheAssembledEntryDecoded) {
  Drawn d = draw("B05-fs-pointer-before-did.txt");
  const std::string title = by_class(d.root, "violation").at(0)->children.at(0).text;
  EXPECT_NE(title.find("observed: P=1 PGTT=1 DID=2 FSPTPTR=0x100c000"), std::string::npos) << title;
  // The walker's fetch it points at is drawn torn: old and new quanta.
  std::vector<const XmlNode*> reads;
  d.root.find_all([](const XmlNode& n) { return n.attr("data-kind") == "read"; }, &reads);
  bool torn = false;
  for (const XmlNode* r : reads) torn |= r->all_text().find("TORN") != std::string::npos;
  EXPECT_TRUE(torn);
}

TEST(Timeline, EveryHardwareEventExplainPrints_IsDrawn) {
  for (const std::string& f : catalog()) {
    SCOPED_TRACE(f);
    Drawn d = draw(f);
    std::string titles;
    std::vector<const XmlNode*> marks;
    d.root.find_all([](const XmlNode& n) { return n.attr("class") == "mark"; }, &marks);
    for (const XmlNode* m : marks)
      if (!m->children.empty() && m->children[0].name == "title")
        titles += m->children[0].text + "\n";
    for (const trace::OpTrace& t : d.r.trace)
      for (const std::string& line : t.lines()) {
        const std::string l = line.substr(line.find_first_not_of(' '));
        if (l.rfind("hw ", 0) == 0) EXPECT_NE(titles.find(l + "\n"), std::string::npos) << l;
      }
  }
}

TEST(Timeline, SameRun_SameBytes) {
  for (const std::string& f : {"B01-context-halves-reordered.txt", "B13-devtlb-before-iotlb.txt"})
    EXPECT_EQ(draw(f).svg, draw(f).svg) << f;
}

TEST(Timeline, LongProgram_FoldsTheOpsWhereOnlyStoresHappen) {
  // B07's first ops write back hundreds of lines and nothing else happens.
  Drawn d = draw("B07-no-clflush.txt");
  std::vector<const XmlNode*> folds;
  d.root.find_all([](const XmlNode& n) { return n.attr("data-kind") == "fold"; }, &folds);
  ASSERT_FALSE(folds.empty());
  EXPECT_NE(folds[0]->children.at(0).text.find("op 0: probe dev=00:02.0"), std::string::npos);
  EXPECT_EQ(by_class(d.root, "strip").size(), 1u);
}

// The matrix as report.json says it: per writer and property, the time to
// the first violation ("seed" for a corpus input), coloured by whether the
// writer declares it; declared properties not found are "expected" when
// the row is ok, "missed" when it is not.
TEST(ReportHtml, MatrixCellsMatchReportJson_AndEveryFindingHasItsTimeline) {
  using Json = nlohmann::ordered_json;
  const std::string json = testing::sample_report_json(kRoot);
  const Json js = Json::parse(json);
  const std::string html = tools::report_html(json);
  XmlNode root;
  XmlReader x;
  ASSERT_TRUE(x.parse(html, &root)) << x.error();
  EXPECT_EQ(root.name, "html");
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http:"), html.find("http://www.w3.org/"));  // namespaces only
  EXPECT_EQ(html.find("https:"), std::string::npos);

  std::vector<const XmlNode*> cells;
  root.find_all([](const XmlNode& n) { return n.name == "td" && n.attrs.count("data-property"); },
                &cells);
  ASSERT_EQ(cells.size(), js["rows"].size() * js["properties"].size());
  for (const XmlNode* c : cells) {
    const std::string w = c->attr("data-writer"), p = c->attr("data-property");
    SCOPED_TRACE(w + " " + p);
    const Json* row = nullptr;
    for (const Json& r : js["rows"])
      if (r["writer"] == w) row = &r;
    ASSERT_NE(row, nullptr);
    const std::string expected = (*row)["expected"];
    const bool declared = ("|" + expected + "|").find("|" + p + "|") != std::string::npos;
    if ((*row)["first"].contains(p)) {
      const Json& f = (*row)["first"][p];
      char t[32];
      std::snprintf(t, sizeof t, "%.1f s", f["seconds"].get<double>());
      EXPECT_EQ(c->text, f["seed"].get<bool>() ? "seed" : t);
      EXPECT_EQ(c->attr("data-state"), declared              ? "found"
                                       : expected == "clean" ? "unexpected"
                                                             : "other");
    } else if (declared) {
      EXPECT_EQ(c->attr("data-state"), (*row)["ok"].get<bool>() ? "expected" : "missed");
    } else {
      EXPECT_EQ(c->attr("data-state"), "none");
      EXPECT_EQ(c->text, "");
    }
  }
  // Per finding: its verdict line, its program, its timeline with the marker.
  std::vector<const XmlNode*> sections;
  root.find_all([](const XmlNode& n) { return n.attr("class") == "finding"; }, &sections);
  size_t findings = 0;
  for (const Json& r : js["rows"]) findings += r["findings"].size();
  ASSERT_EQ(sections.size(), findings);
  for (const XmlNode* s : sections) {
    EXPECT_EQ(by_class(*s, "timeline").size(), 1u);
    EXPECT_EQ(by_class(*s, "violation").size(), 1u);
    std::vector<const XmlNode*> pre;
    s->find_all([](const XmlNode& n) { return n.name == "pre"; }, &pre);
    ASSERT_EQ(pre.size(), 1u);
    EXPECT_NE(pre[0]->text.find("writer " + s->attr("data-writer")), std::string::npos);
  }
  EXPECT_EQ(tools::report_html(json), html);
}

TEST(ReportHtml, NotAReport_IsAPageThatSaysSo) {
  for (const char* bad : {"", "{", "[1,2]", "{\"rows\": 3}"}) {
    const std::string html = tools::report_html(bad);
    XmlNode root;
    XmlReader x;
    EXPECT_TRUE(x.parse(html, &root)) << x.error();
    EXPECT_NE(html.find("could not be read"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace vtd

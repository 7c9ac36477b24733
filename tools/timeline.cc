#include "tools/timeline.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "oracle/properties.h"
#include "tools/svg.h"
#include "tools/timeline_model.h"

namespace vtd::tools {
namespace {

using namespace timeline;

constexpr int kWidth = 1280, kMargin = 12, kX0 = 128, kX1 = kWidth - kMargin;
constexpr int kBandH = 20, kSchedH = 13, kLaneH = 48, kStripGap = 24, kLine = 15;
constexpr const char* kRed = "#e03131";
constexpr const char* kLink = "#0c8599";

std::string n(int v) {
  return std::to_string(v);
}

// `s` cut to `w` pixels of the label font, with an ellipsis.
std::string fit(const std::string& s, int w) {
  if (text_width(s) <= w) return s;
  const int keep = std::max(1, w / kCharWidth - 1);
  return s.substr(0, size_t(keep)) + "\xe2\x80\xa6";
}

// Lines of at most `cols` characters (words kept whole when they fit).
std::vector<std::string> wrap(const std::string& text, size_t cols) {
  std::vector<std::string> out;
  std::string line;
  std::istringstream in(text);
  std::string word;
  const size_t indent = text.find_first_not_of(' ');
  const std::string pad(indent == std::string::npos ? 0 : indent, ' ');
  while (in >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > cols) {
      out.push_back(line);
      line = pad + "  ";
    }
    line += (line.empty() ? pad : line == pad + "  " ? "" : " ") + word;
    while (line.size() > cols) {
      out.push_back(line.substr(0, cols));
      line = pad + "  " + line.substr(cols);
    }
  }
  if (!line.empty()) out.push_back(line);
  return out;
}

struct Strip {
  size_t first = 0, last = 0;  // columns [first, last)
  std::vector<int> x, w;       // per column of the strip
  int y = 0, lanes_y = 0, rows = 0;
  struct Label {
    int x, row;
    std::string text;
    bool violation;
  };
  std::vector<Label> labels;
  int bottom() const { return lanes_y; }
};

class Drawer {
 public:
  Drawer(const prog::Program& p, const harness::Result& r, const TimelineOptions& o)
      : p_(p), r_(r), o_(o), m_(layout(p, r)) {}
  std::string svg();

 private:
  int header(int y);
  void strips(int y);
  void draw_strip(const Strip& s, size_t index);
  void draw_mark(const Mark& mk, int cx, int cy, int w, const char* cls = "mark");
  int details(int y);
  void text(int x, int y, const std::string& s, const std::string& attrs = "") {
    // Presentation attributes, not CSS, give the colour (CSS would win over them).
    const std::string fill = attrs.find("fill=") == std::string::npos ? " fill=\"#212529\"" : "";
    out_ += "<text x=\"" + n(x) + "\" y=\"" + n(y) + "\"" + fill +
            (attrs.empty() ? "" : " " + attrs) + ">" + xml_escape(s) + "</text>\n";
  }
  int lane_y(const Strip& s, int lane) const { return s.lanes_y + lane * kLaneH; }

  const prog::Program& p_;
  const harness::Result& r_;
  const TimelineOptions& o_;
  Model m_;
  std::vector<Strip> strips_;
  std::string out_;
  // Where each event's mark is drawn: strip, x, y.
  struct At {
    size_t strip;
    int x, y, below;  // below: where a link leaving downwards starts (under the labels)
  };
  std::map<std::pair<uint32_t, uint32_t>, At> at_;
  void link(const At& a, const At& b, const char* color);
};

int Drawer::header(int y) {
  text(kMargin, y + 16, o_.title.empty() ? "timeline" : o_.title, "class=\"h\"");
  y += 24;
  std::string verdict;
  const char* color = "#2f9e44";
  if (!r_.violated) {
    verdict = "clean: writer " + r_.writer + ", " + std::to_string(r_.ops_run) + " ops";
  } else {
    const oracle::Violation& v = r_.violation;
    verdict = std::string("VIOLATION ") + oracle::property_name(v.property) + " " +
              oracle::property_title(v.property) + " (writer " + r_.writer + ") at op " +
              std::to_string(v.op_index) + " " + v.op_text + ", " + v.point + ": " + v.what;
    color = kRed;
  }
  for (const std::string& l : wrap(verdict, 168)) {
    y += 14;
    text(kMargin, y, l, std::string("class=\"v\" fill=\"") + color + "\"");
  }
  // The legend: what the colours and shapes mean.
  y += 22;
  int x = kMargin;
  const Value kValues[] = {Value::Old, Value::New, Value::Torn, Value::Neither, Value::Unchanged};
  static const char* const kMeaning[] = {"old: what the op found", "new: what the op leaves",
                                         "torn: old and new mixed", "interim: neither",
                                         "unchanged by the op"};
  out_ += "<g class=\"legend\">\n";
  for (int i = 0; i < 5; ++i) {
    out_ += "<rect x=\"" + n(x) + "\" y=\"" + n(y - 9) + "\" width=\"10\" height=\"10\" fill=\"" +
            value_color(kValues[i]) + "\" stroke=\"#343a40\"/>\n";
    text(x + 14, y, kMeaning[i]);
    x += 14 + text_width(kMeaning[i]) + 16;
  }
  // The shapes, drawn as the lanes draw them.
  y += 20;
  x = kMargin;
  static const std::pair<Glyph, const char*> kShapes[] = {
      {Glyph::Store, "CPU store"},   {Glyph::Writeback, "clflush"}, {Glyph::Wait, "wait"},
      {Glyph::Nested, "CPU 1 op"},   {Glyph::Fill, "cache fill"},   {Glyph::Hit, "cache hit"},
      {Glyph::Inval, "invalidated"}, {Glyph::Desc, "descriptor"},   {Glyph::Dma, "DMA"},
      {Glyph::Fault, "fault"},       {Glyph::Unsafe, "unsafe read"}};
  for (const auto& [g, what] : kShapes) {
    Mark mk;
    mk.glyph = g;
    draw_mark(mk, x + 8, y - 4, 16, "key");
    text(x + 20, y, what);
    x += 20 + text_width(what) + 14;
  }
  out_ += "<path d=\"M" + n(x) + " " + n(y - 4) + " h24\" stroke=\"" + kLink +
          "\" stroke-width=\"1.2\" stroke-dasharray=\"3 2\"/>\n";
  text(x + 30, y, "came from");
  x += 30 + text_width("came from") + 14;
  out_ += "<line x1=\"" + n(x + 4) + "\" y1=\"" + n(y - 10) + "\" x2=\"" + n(x + 4) + "\" y2=\"" +
          n(y + 2) + "\" stroke=\"#868e96\" stroke-dasharray=\"3 2\"/>\n";
  text(x + 12, y, "schedule point");
  x += 12 + text_width("schedule point") + 14;
  out_ += "<path d=\"M" + n(x + 5) + " " + n(y - 10) + " l6 6 l-6 6 l-6 -6 z\" fill=\"" + kRed +
          "\"/>\n";
  text(x + 16, y, "violation");
  out_ += "</g>\n";
  return y + 14;
}

void Drawer::strips(int y) {
  const int plot = kX1 - kX0;
  for (size_t c = 0; c < m_.columns.size();) {
    Strip s;
    s.first = c;
    int total = 0;
    while (c < m_.columns.size() && (c == s.first || total + m_.columns[c].width <= plot))
      total += m_.columns[c++].width;
    // A strip that must break ends, where it can, before an op or a
    // schedule point in its second half rather than inside a walk.
    if (c < m_.columns.size()) {
      int w = 0, best = -1;
      for (size_t i = s.first; i < c; w += m_.columns[i++].width)
        if (i > s.first && w >= plot / 2 &&
            (m_.columns[i].op != m_.columns[i - 1].op || m_.columns[i].kind == ColumnKind::Step))
          best = int(i);
      if (best > 0)
        for (total = 0, c = s.first; c < size_t(best); ++c) total += m_.columns[c].width;
    }
    s.last = c;
    // Short strips spread out a little: easier to read than a crowded left.
    const int stretch = std::min(150, total ? plot * 100 / total : 100);
    int x = kX0;
    for (size_t i = s.first; i < s.last; ++i) {
      const int w = m_.columns[i].width * std::max(100, stretch) / 100;
      s.x.push_back(x);
      s.w.push_back(w);
      x += w;
    }
    strips_.push_back(std::move(s));
  }
  for (size_t si = 0; si < strips_.size(); ++si) {
    Strip& s = strips_[si];
    // Schedule-point and violation labels, in rows that do not overlap.
    std::vector<int> row_end;
    auto place = [&](int x, std::string t, bool violation) {
      size_t row = 0;
      x = std::min(x, kX1 - text_width(t));
      while (row < row_end.size() && row_end[row] > x) ++row;
      if (row == row_end.size()) row_end.push_back(0);
      row_end[row] = x + text_width(t) + 10;
      s.labels.push_back({x, int(row), std::move(t), violation});
    };
    for (size_t i = s.first; i < s.last; ++i) {
      const size_t k = i - s.first;
      if (m_.violation.found && m_.violation.column == i)
        place(s.x[k] + s.w[k] / 2 - 6, "\xe2\x97\x86 " + m_.violation.label, true);
      if (m_.columns[i].kind == ColumnKind::Step)
        place(s.x[k] + s.w[k] / 2 - 2, m_.columns[i].step, false);
    }
    s.rows = int(row_end.size());
    s.y = y;
    s.lanes_y = y + kBandH + 4 + s.rows * kSchedH + (s.rows ? 4 : 0);
    y = s.lanes_y + int(m_.lanes.size()) * kLaneH + kStripGap;
    // Where every event is drawn, for the links.
    for (size_t i = s.first; i < s.last; ++i) {
      const size_t k = i - s.first;
      const int cx = s.x[k] + s.w[k] / 2;
      for (const Mark& mk : m_.columns[i].marks) {
        const int cy = lane_y(s, mk.lane) + 17;
        // A read is drawn at its quantum's square: its place in the entry
        // assembled, or its turn in a page walk.
        int q = 0;
        const int qn = int(mk.quanta.size()), qbytes = p_.config.quantum_bits / 8;
        const trace::Event* entry = nullptr;
        for (const trace::Ref ref : mk.refs) {
          const trace::Event* e = trace::find(r_.trace, ref);
          if (e->kind == trace::Kind::Hw && e->hw == sim::EventKind::EntryFetched) entry = e;
        }
        for (const trace::Ref ref : mk.refs) {
          const trace::Event* e = trace::find(r_.trace, ref);
          int x = cx;
          if (mk.glyph == Glyph::Quanta && e->kind == trace::Kind::Hw &&
              e->hw == sim::EventKind::Read) {
            int slot = q++;
            if (entry && e->addr >= entry->addr && int((e->addr - entry->addr) / qbytes) < qn)
              slot = int((e->addr - entry->addr) / qbytes);
            x = cx - (qn * 12 - 2) / 2 + 12 * slot + 5;
          }
          at_[{ref.op, ref.ev}] = {si, x, cy, !mk.label2.empty() ? 33 : !mk.label.empty() ? 22 : 8};
        }
      }
    }
  }
}

void Drawer::draw_mark(const Mark& mk, int cx, int cy, int w, const char* cls) {
  static const char* const kKind[] = {"store", "writeback",   "wait", "note", "cpu2",  "read",
                                      "fault", "unsafe",      "fill", "hit",  "evict", "inval",
                                      "desc",  "queue-error", "dma",  "fold", "end"};
  out_ += std::string("<g class=\"") + cls + "\" data-kind=\"" + kKind[int(mk.glyph)] + "\"" +
          (mk.faded ? " opacity=\"0.4\"" : "") + ">";
  if (!mk.title.empty()) out_ += "<title>" + xml_escape(mk.title) + "</title>";
  out_ += "\n";
  const std::string X = n(cx), Y = n(cy);
  const char* alert = mk.alert ? kRed : "#343a40";
  switch (mk.glyph) {
    case Glyph::Store:
    case Glyph::Nested:
      out_ += "<rect x=\"" + n(cx - 4) + "\" y=\"" + n(cy - 9) +
              "\" width=\"8\" height=\"18\" fill=\"" +
              (mk.glyph == Glyph::Store ? "#495057" : "#7048e8") + "\"/>\n";
      break;
    case Glyph::Writeback:
    case Glyph::Wait:
      out_ += "<rect x=\"" + n(cx - 5) + "\" y=\"" + n(cy - 9) +
              "\" width=\"10\" height=\"18\" fill=\"#fff\" stroke=\"#495057\" stroke-width=\"2\"" +
              (mk.glyph == Glyph::Wait ? " stroke-dasharray=\"3 2\"" : "") + "/>\n";
      break;
    case Glyph::Quanta: {
      const int qn = int(mk.quanta.size());
      if (!qn) {
        out_ += "<path d=\"M" + X + " " + n(cy - 7) + " l7 7 l-7 7 l-7 -7 z\" fill=\"#868e96\"/>\n";
        break;
      }
      const int x0 = cx - (qn * 12 - 2) / 2;
      if (mk.alert)
        out_ += "<rect x=\"" + n(x0 - 3) + "\" y=\"" + n(cy - 8) + "\" width=\"" + n(qn * 12 + 4) +
                "\" height=\"16\" fill=\"none\" stroke=\"" + kRed + "\" stroke-width=\"2\"/>\n";
      for (int q = 0; q < qn; ++q)
        out_ += "<rect x=\"" + n(x0 + 12 * q) + "\" y=\"" + n(cy - 5) +
                "\" width=\"10\" height=\"10\" fill=\"" + value_color(mk.quanta[size_t(q)]) +
                "\" stroke=\"#343a40\"/>\n";
      break;
    }
    case Glyph::Fault:
    case Glyph::Evict:
      out_ += "<path d=\"M" + n(cx - 6) + " " + n(cy - 6) + " l12 12 M" + n(cx + 6) + " " +
              n(cy - 6) + " l-12 12\" stroke=\"" + (mk.glyph == Glyph::Fault ? kRed : "#868e96") +
              "\" stroke-width=\"3\"/>\n";
      break;
    case Glyph::Unsafe:
    case Glyph::QueueError:
      out_ += "<path d=\"M" + X + " " + n(cy - 8) + " l8 15 l-16 0 z\" fill=\"" + kRed + "\"/>\n";
      break;
    case Glyph::Fill:
      out_ += "<circle cx=\"" + X + "\" cy=\"" + Y + "\" r=\"6\" fill=\"" + kLink + "\"/>\n";
      break;
    case Glyph::Hit:
      out_ += "<circle cx=\"" + X + "\" cy=\"" + Y + "\" r=\"6\" fill=\"#fff\" stroke=\"" + kLink +
              "\" stroke-width=\"2\"/>\n";
      break;
    case Glyph::Inval:
      out_ += "<circle cx=\"" + X + "\" cy=\"" + Y +
              "\" r=\"6\" fill=\"#fff\" stroke=\"#ae3ec9\" stroke-width=\"2\"/><path d=\"M" +
              n(cx - 4) + " " + n(cy + 4) + " l8 -8\" stroke=\"#ae3ec9\" stroke-width=\"2\"/>\n";
      break;
    case Glyph::Desc:
      out_ += "<rect x=\"" + n(cx - 8) + "\" y=\"" + n(cy - 6) +
              "\" width=\"16\" height=\"12\" rx=\"2\" fill=\"#ae3ec9\"/>\n";
      break;
    case Glyph::Dma:
      out_ += "<path d=\"M" + n(cx - 8) + " " + n(cy - 7) + " h9 l7 7 l-7 7 h-9 z\" fill=\"" +
              alert + "\"/>\n";
      break;
    case Glyph::Fold:
      out_ += "<rect x=\"" + n(cx - w / 2 + 4) + "\" y=\"" + n(cy - 9) + "\" width=\"" + n(w - 8) +
              "\" height=\"18\" rx=\"4\" fill=\"#e9ecef\" stroke=\"#adb5bd\" "
              "stroke-dasharray=\"4 2\"/>\n";
      break;
    case Glyph::End:
      out_ += "<rect x=\"" + n(cx - 7) + "\" y=\"" + n(cy - 7) +
              "\" width=\"14\" height=\"14\" fill=\"none\" stroke=\"" + kRed +
              "\" stroke-width=\"2\"/>\n";
      break;
    case Glyph::Note:
      out_ += "<circle cx=\"" + X + "\" cy=\"" + Y + "\" r=\"4\" fill=\"#868e96\"/>\n";
      break;
  }
  const int room = w - 4;
  if (!mk.label.empty())
    text(cx, cy + 19, fit(mk.label, room),
         std::string("text-anchor=\"middle\"") +
             (mk.alert && mk.glyph != Glyph::Quanta ? " fill=\"" + std::string(kRed) + "\"" : ""));
  if (!mk.label2.empty())
    text(cx, cy + 30, fit(mk.label2, room),
         std::string("text-anchor=\"middle\" class=\"s\"") +
             (mk.label2_color ? " fill=\"" + std::string(mk.label2_color) + "\"" : ""));
  out_ += "</g>\n";
}

std::string lane_id(const Lane& l) {
  switch (l.actor) {
    case trace::Actor::Cpu:
      return "cpu" + std::to_string(l.cpu);
    case trace::Actor::Queue:
      return "queue";
    case trace::Actor::Walker:
      return "walker";
    case trace::Actor::Cache:
      return std::string("cache-") + sim::cache_kind_name(l.cache);
    case trace::Actor::Dma:
      return "dma-" + l.sid.str();
  }
  return "";
}

void Drawer::draw_strip(const Strip& s, size_t index) {
  const int lanes_h = int(m_.lanes.size()) * kLaneH;
  out_ += "<g class=\"strip\">\n";
  for (size_t i = 0; i < m_.lanes.size(); ++i) {
    const int y = lane_y(s, int(i));
    out_ += "<g class=\"lane\" data-lane=\"" + xml_escape(lane_id(m_.lanes[i])) + "\"><rect x=\"" +
            n(kMargin) + "\" y=\"" + n(y) + "\" width=\"" + n(kX1 - kMargin) + "\" height=\"" +
            n(kLaneH) + "\" fill=\"" + (i % 2 ? "#ffffff" : "#f4f6f8") + "\"/>\n";
    text(kMargin + 6, y + 20, m_.lanes[i].name, "class=\"l\"");
    text(kMargin + 6, y + 34, m_.lanes[i].sub, "fill=\"#495057\"");
    out_ += "</g>\n";
  }
  // Ops as bands across the top; a line where each op starts.
  for (size_t i = s.first; i < s.last;) {
    const Column& c = m_.columns[i];
    size_t j = i;
    while (j < s.last && m_.columns[j].op == c.op && m_.columns[j].op_last == c.op_last) ++j;
    const int x = s.x[i - s.first], w = s.x[j - 1 - s.first] + s.w[j - 1 - s.first] - x;
    const bool bad = r_.violated && c.op == r_.violation.op_index;
    const bool folded = c.op_last > c.op || (c.kind == ColumnKind::Fold && j - i == 1 &&
                                             c.marks[0].title.rfind("folded: only", 0) == 0);
    std::string label =
        folded ? (c.op_last > c.op ? "ops " + std::to_string(c.op) + "-" + std::to_string(c.op_last)
                                   : "op " + std::to_string(c.op))
               : m_.ops[c.op];
    std::string tip = folded ? c.marks[0].title : m_.ops[c.op];
    out_ += "<g class=\"op\"><title>" + xml_escape(tip) + "</title><rect x=\"" + n(x + 1) +
            "\" y=\"" + n(s.y) + "\" width=\"" + n(w - 2) + "\" height=\"" + n(kBandH) +
            "\" rx=\"3\" fill=\"" +
            (bad        ? "#ffe3e3"
             : folded   ? "#f1f3f5"
             : c.op % 2 ? "#e7f5ff"
                        : "#edf2ff") +
            "\" stroke=\"" + (bad ? "#ffa8a8" : "#ced4da") + "\"/>\n";
    text(x + 6, s.y + 14, fit(label, w - 10), bad ? "font-weight=\"bold\"" : "");
    out_ += "</g>\n<line x1=\"" + n(x) + "\" y1=\"" + n(s.y) + "\" x2=\"" + n(x) + "\" y2=\"" +
            n(s.lanes_y + lanes_h) + "\" stroke=\"#adb5bd\"/>\n";
    i = j;
  }
  for (size_t i = s.first; i < s.last; ++i) {
    const Column& c = m_.columns[i];
    const int x = s.x[i - s.first], w = s.w[i - s.first];
    if (c.kind == ColumnKind::Step)
      out_ += "<line x1=\"" + n(x + w / 2) + "\" y1=\"" + n(s.y + kBandH + 2) + "\" x2=\"" +
              n(x + w / 2) + "\" y2=\"" + n(s.lanes_y + lanes_h) +
              "\" stroke=\"#868e96\" stroke-dasharray=\"4 3\"/>\n";
    if (m_.violation.found && m_.violation.column == i)
      out_ += "<rect x=\"" + n(x + 2) + "\" y=\"" + n(s.lanes_y) + "\" width=\"" + n(w - 4) +
              "\" height=\"" + n(lanes_h) + "\" fill=\"#ffc9c9\" opacity=\"0.45\"/>\n";
  }
  // Links: a fill to the read it came from, a hit to the fill that made
  // its line, a DMA to the translation it used.
  for (size_t i = s.first; i < s.last; ++i)
    for (const Mark& mk : m_.columns[i].marks)
      for (const trace::Ref ref : mk.refs) {
        const trace::Event* e = trace::find(r_.trace, ref);
        if (!e->from.valid()) continue;
        auto a = at_.find({e->from.op, e->from.ev}), b = at_.find({ref.op, ref.ev});
        if (a != at_.end() && b != at_.end() && a->second.strip == index &&
            b->second.strip == index)
          link(a->second, b->second, kLink);
      }
  // A stale line judged as the op returned: the fill or hit that made it.
  if (m_.violation.found && m_.violation.column >= s.first && m_.violation.column < s.last) {
    auto a = at_.find({m_.violation.stale.op, m_.violation.stale.ev});
    const size_t k = m_.violation.column - s.first;
    if (m_.violation.stale.valid() && a != at_.end() && a->second.strip == index)
      link(a->second, {index, s.x[k] + s.w[k] / 2, lane_y(s, m_.violation.lane) + 17, 8}, kRed);
  }
  for (size_t i = s.first; i < s.last; ++i) {
    const int x = s.x[i - s.first], w = s.w[i - s.first];
    for (const Mark& mk : m_.columns[i].marks) draw_mark(mk, x + w / 2, lane_y(s, mk.lane) + 17, w);
  }
  for (const Strip::Label& l : s.labels)
    text(l.x, s.y + kBandH + 4 + kSchedH * (l.row + 1) - 3, l.text,
         l.violation ? std::string("font-weight=\"bold\" fill=\"") + kRed + "\""
                     : "fill=\"#495057\"");
  if (m_.violation.found && m_.violation.column >= s.first && m_.violation.column < s.last) {
    const size_t k = m_.violation.column - s.first;
    const int cx = s.x[k] + s.w[k] / 2, cy = lane_y(s, m_.violation.lane) + 17;
    // Beside the mark it points at.
    int half = 10;
    for (const Mark& mk : m_.columns[m_.violation.column].marks)
      if (mk.lane == m_.violation.lane && mk.glyph == Glyph::Quanta)
        half = int(mk.quanta.size()) * 6 + 4;
    out_ += "<g class=\"violation\"><title>" + xml_escape(m_.violation.title) +
            "</title><path d=\"M" + n(cx + half + 8) + " " + n(cy - 8) +
            " l8 8 l-8 8 l-8 -8 z\" fill=\"" + kRed + "\" stroke=\"#fff\"/><line x1=\"" + n(cx) +
            "\" y1=\"" + n(s.lanes_y) + "\" x2=\"" + n(cx) + "\" y2=\"" + n(s.lanes_y + lanes_h) +
            "\" stroke=\"" + kRed + "\" stroke-width=\"1\" opacity=\"0.5\"/></g>\n";
  }
  out_ += "</g>\n";
}

// A dashed curve from one mark to another: downwards it leaves under the
// first mark's labels; along one lane it arcs above it.
void Drawer::link(const At& a, const At& b, const char* color) {
  int y1 = a.y, y2 = b.y, bend = (a.y + b.y) / 2;
  if (y2 > y1) {
    y1 += a.below;
    y2 -= 8;
    bend = (y1 + y2) / 2;
  } else if (y2 < y1) {
    y1 -= 8;
    y2 += b.below;
    bend = (y1 + y2) / 2;
  } else {
    y1 -= 9;
    y2 -= 9;
    bend = y1 - 16;
  }
  out_ += "<path class=\"link\" d=\"M" + n(a.x) + " " + n(y1) + " C" + n(a.x) + " " + n(bend) +
          " " + n(b.x) + " " + n(bend) + " " + n(b.x) + " " + n(y2) + "\" fill=\"none\" stroke=\"" +
          color + "\" stroke-width=\"1.2\" stroke-dasharray=\"3 2\"/>\n";
}

// The program (ops numbered as the bands are) and the verdict, decoded.
int Drawer::details(int y) {
  std::vector<std::string> prog_lines, verdict;
  std::istringstream in(prog::to_text(p_));
  int op = 0;
  for (std::string l; std::getline(in, l);) {
    const bool is_op =
        !l.empty() && l[0] != ' ' && l.rfind("writer ", 0) != 0 && l.rfind("config ", 0) != 0;
    std::string num = is_op ? std::to_string(op++) : "";
    prog_lines.push_back(std::string(3 - std::min<size_t>(3, num.size()), ' ') + num + "  " + l);
  }
  std::istringstream rep(harness::report(r_));
  for (std::string l; std::getline(rep, l) && l != "  last hardware events:";)
    for (const std::string& w : wrap(l, 104)) verdict.push_back(w);
  y += 8;
  text(kMargin, y, "program", "class=\"l\"");
  text(560, y, "verdict", "class=\"l\"");
  size_t rows = 0;
  for (const std::string& l : prog_lines) {
    for (const std::string& w : wrap(l, 80))
      text(kMargin, y + 16 + kLine * int(rows++), w, "class=\"d\" xml:space=\"preserve\"");
  }
  for (size_t i = 0; i < verdict.size(); ++i)
    text(560, y + 16 + kLine * int(i), verdict[i],
         std::string("class=\"d\" xml:space=\"preserve\"") +
             (i == 0 && r_.violated ? " fill=\"" + std::string(kRed) + "\"" : ""));
  return y + 16 + kLine * int(std::max(rows, verdict.size())) + 8;
}

std::string Drawer::svg() {
  int y = header(kMargin);
  strips(y + 10);
  for (size_t i = 0; i < strips_.size(); ++i) draw_strip(strips_[i], i);
  y = strips_.empty() ? y + 10 : strips_.back().lanes_y + int(m_.lanes.size()) * kLaneH + kStripGap;
  if (o_.details) y = details(y);
  const int h = y + kMargin;
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" +
         n(kWidth) + "\" height=\"" + n(h) + "\" viewBox=\"0 0 " + n(kWidth) + " " + n(h) +
         "\" class=\"timeline\">\n"
         // Scoped to the picture: an HTML page may hold several (report.html).
         "<style>.timeline text{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;"
         "font-size:10px}.timeline .h{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;"
         "font-size:16px;font-weight:bold}.timeline .v{font-size:12px;font-weight:bold}"
         ".timeline .l{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;font-size:12px;"
         "font-weight:bold}.timeline .d{font-size:11px}</style>\n<rect width=\"" +
         n(kWidth) + "\" height=\"" + n(h) + "\" fill=\"#ffffff\"/>\n" + out_ + "</svg>\n";
}

}  // namespace

std::string timeline_svg(const prog::Program& p, const harness::Result& r,
                         const TimelineOptions& o) {
  return Drawer(p, r, o).svg();
}

std::string render_timeline(const prog::Program& p, const std::string& writer,
                            const TimelineOptions& o, std::string* error) {
  harness::Options ho;
  ho.writer = writer;
  ho.trace = true;
  harness::Result r = harness::run(p, ho);
  if (!r.error.empty()) {
    *error = r.error;
    return "";
  }
  return timeline_svg(p, r, o);
}

}  // namespace vtd::tools

#include "tools/timeline_model.h"

#include <algorithm>
#include <map>
#include <set>

#include "oracle/properties.h"
#include "simulator/descriptors.h"
#include "simulator/formats.h"

namespace vtd::tools::timeline {

using sim::EventKind;
using trace::Actor;
using trace::Event;
using trace::Kind;
using trace::Ref;

namespace {

class Builder {
 public:
  Builder(const prog::Program& p, const harness::Result& r, Model& m) : p_(p), r_(r), m_(m) {}

  void run();

 private:
  int lane(const Event& e) const {
    const Lane l = lane_of(e);
    return int(std::find(m_.lanes.begin(), m_.lanes.end(), l) - m_.lanes.begin());
  }
  int lane(const Lane& l) const {
    auto it = std::find(m_.lanes.begin(), m_.lanes.end(), l);
    return it == m_.lanes.end() ? 0 : int(it - m_.lanes.begin());
  }
  Column& open(ColumnKind k, uint32_t op) {
    Column& c = m_.columns.emplace_back();
    c.kind = k;
    c.op = c.op_last = op;
    mode_ = Mode::None;
    return c;
  }
  // The mark of `glyph` on `lane` in the last column (made when missing);
  // nullptr when that lane already shows something else there.
  Mark* mark(int lane, Glyph g) {
    for (Mark& mk : m_.columns.back().marks)
      if (mk.lane == lane) return mk.glyph == g ? &mk : nullptr;
    Mark& mk = m_.columns.back().marks.emplace_back();
    mk.lane = lane;
    mk.glyph = g;
    return &mk;
  }
  // The mark of `glyph` on `lane`: in the last column when it has room, or
  // in a new column of the op.
  Mark& place(int lane, Glyph g, uint32_t op) {
    if (Mark* mk = mark(lane, g)) return *mk;
    open(ColumnKind::Events, op);
    return *mark(lane, g);
  }
  static void add(Mark& mk, const Event& e, Ref ref) {
    mk.refs.push_back(ref);
    mk.title += (mk.title.empty() ? "" : "\n") + e.text.substr(e.text.find_first_not_of(' '));
  }

  void lanes();
  void fold_ops(uint32_t first, uint32_t last);
  void op_columns(uint32_t op);
  void hw(const Event& e, Ref ref, uint32_t op);
  void fold_stores(size_t from);
  void finish_quanta();
  void marker();

  enum class Mode { None, Fetch, Cache, Desc };
  const prog::Program& p_;
  const harness::Result& r_;
  Model& m_;
  Mode mode_ = Mode::None;
  sim::EntryKind fetch_kind_ = sim::EntryKind::LegacyRoot;
  sim::PhysAddr fetch_base_ = 0;
  bool fetched_ = false;
  std::set<sim::PhysAddr> read_words_;  // every word the walker read
  Ref keep_;                            // the store the violation names: never folded
};

void Builder::lanes() {
  Lane cpu0;
  cpu0.name = "CPU 0";
  cpu0.sub = "the op's stores";
  m_.lanes.push_back(cpu0);
  for (const trace::OpTrace& t : r_.trace)
    for (const Event& e : t.events) {
      if (e.kind == Kind::Step) continue;
      const Lane l = lane_of(e);
      if (std::find(m_.lanes.begin(), m_.lanes.end(), l) == m_.lanes.end()) m_.lanes.push_back(l);
      if (e.kind == Kind::Hw && e.hw == EventKind::Read)
        for (int i = 0; i < e.words; ++i) read_words_.insert((e.addr & ~7ull) + 8 * uint64_t(i));
    }
  std::stable_sort(m_.lanes.begin(), m_.lanes.end(),
                   [](const Lane& a, const Lane& b) { return rank(a) < rank(b); });
}

void Builder::fold_ops(uint32_t first, uint32_t last) {
  Column& c = open(ColumnKind::Fold, first);
  c.op_last = last;
  Mark& mk = c.marks.emplace_back();
  mk.glyph = Glyph::Fold;
  size_t stores = 0;
  for (uint32_t i = first; i <= last; ++i) {
    stores += r_.trace[i].events.size();
    mk.title += (i == first ? "" : "\n") + m_.ops[i] + " (" +
                std::to_string(r_.trace[i].events.size()) + " stores)";
  }
  mk.label = std::to_string(stores) + " stores";
  mk.label2 = "folded";
  mk.title = "folded: only CPU stores, the hardware did nothing\n" + mk.title;
}

void Builder::hw(const Event& e, Ref ref, uint32_t op) {
  const int l = lane(e);
  switch (e.hw) {
    case EventKind::Read: {
      const bool pte = is_pte(e.entry_kind);
      const sim::PhysAddr base =
          e.addr & ~sim::PhysAddr(sim::format_of(e.entry_kind).words * 8u - 1);
      const bool same =
          mode_ == Mode::Fetch && !fetched_ &&
          (pte ? is_pte(fetch_kind_) : fetch_kind_ == e.entry_kind && base == fetch_base_);
      if (!same) {
        open(ColumnKind::Events, op);
        mode_ = Mode::Fetch;
        fetch_kind_ = e.entry_kind;
        fetch_base_ = base;
        fetched_ = false;
      }
      Mark* mk = &place(l, Glyph::Quanta, op);
      mk->quanta.push_back(value_of(e));
      add(*mk, e, ref);
      mk->title += "\n  when the op began: " + hex_words(e.before.data(), e.words) +
                   "\n  when it returned:  " + hex_words(e.after.data(), e.words) + " (read " +
                   value_name(value_of(e)) + ")";
      return;
    }
    case EventKind::EntryFetched: {
      if (mode_ != Mode::Fetch || fetched_ || fetch_kind_ != e.entry_kind)
        open(ColumnKind::Events, op);
      fetched_ = true;
      mode_ = Mode::Fetch;
      fetch_kind_ = e.entry_kind;
      Mark* mk = &place(l, Glyph::Quanta, op);
      add(*mk, e, ref);
      // The squares show the entry as assembled, quantum by quantum, against
      // this op: a walk parked in an earlier op read some of it then.
      if (e.words) {
        const int qw = p_.config.quantum_words();
        mk->quanta.clear();
        for (int q = 0; q * qw < e.words; ++q) {
          Event part = e;
          part.words = uint8_t(std::min(qw, e.words - q * qw));
          for (int i = 0; i < part.words; ++i) {
            part.v[i] = e.v[q * qw + i];
            part.before[i] = e.before[q * qw + i];
            part.after[i] = e.after[q * qw + i];
          }
          mk->quanta.push_back(value_of(part));
        }
        mk->title += "\n  when the op began: " + hex_words(e.before.data(), e.words) +
                     "\n  when it returned:  " + hex_words(e.after.data(), e.words);
      }
      mk->label =
          is_pte(e.entry_kind) ? sim::entry_kind_name(e.entry_kind) : short_kind(e.entry_kind);
      return;
    }
    case EventKind::CacheFill:
    case EventKind::CacheHit:
    case EventKind::CacheEvict:
    case EventKind::CacheInval: {
      const Glyph g = e.hw == EventKind::CacheFill    ? Glyph::Fill
                      : e.hw == EventKind::CacheHit   ? Glyph::Hit
                      : e.hw == EventKind::CacheInval ? Glyph::Inval
                                                      : Glyph::Evict;
      const bool joins =
          g == Glyph::Inval ? mode_ == Mode::Desc : mode_ != Mode::None && mode_ != Mode::Desc;
      Mark* mk = joins ? mark(l, g) : nullptr;
      if (!mk) {
        open(ColumnKind::Events, op);
        mode_ = g == Glyph::Inval ? Mode::Desc : Mode::Cache;
        mk = mark(l, g);
      }
      add(*mk, e, ref);
      const size_t n = mk->refs.size();
      static const char* const kVerb[] = {"fill", "hit", "inval", "evict"};
      const std::string verb = kVerb[g == Glyph::Fill    ? 0
                                     : g == Glyph::Hit   ? 1
                                     : g == Glyph::Inval ? 2
                                                         : 3];
      if (g == Glyph::Inval) {
        uint32_t lines = 0;
        for (Ref x : mk->refs) lines += trace::find(r_.trace, x)->count;
        mk->label = "inval " + std::to_string(lines);
        mk->faded = lines == 0;
      } else {
        mk->label = n > 1 ? verb + " x" + std::to_string(n) : verb;
      }
      if (e.cache != sim::CacheKind::DevTlb) mk->label2 = "did=" + std::to_string(e.did);
      // A translation names the table it came from (one tag, two tables is P5).
      if (e.xlat && g != Glyph::Inval && n == 1) {
        mk->label += " " + mk->label2;
        mk->label2 = sim::hex(e.xlat->root);
      }
      return;
    }
    case EventKind::Descriptor: {
      // The first descriptor a wait makes the queue process shares its column.
      if (m_.columns.empty() ||
          !(m_.columns.back().marks.size() == 1 &&
            m_.columns.back().marks[0].glyph == Glyph::Wait && m_.columns.back().op == op))
        open(ColumnKind::Events, op);
      mode_ = Mode::Desc;
      Mark* mk = &place(l, Glyph::Desc, op);
      add(*mk, e, ref);
      sim::Descriptor d;
      d.w[0] = e.v[0];
      d.w[1] = e.v[1];
      const std::string s = d.str();
      mk->label = s.substr(0, s.find(' '));
      const size_t did = s.find(" did=");
      if (did != std::string::npos) mk->label2 = s.substr(did + 1, s.find(' ', did + 1) - did - 1);
      return;
    }
    default:
      break;
  }
  open(ColumnKind::Events, op);
  static const std::map<EventKind, Glyph> kGlyph = {{EventKind::Fault, Glyph::Fault},
                                                    {EventKind::UnsafeRead, Glyph::Unsafe},
                                                    {EventKind::QueueError, Glyph::QueueError},
                                                    {EventKind::Dma, Glyph::Dma}};
  Mark* mk = &place(l, kGlyph.count(e.hw) ? kGlyph.at(e.hw) : Glyph::Note, op);
  add(*mk, e, ref);
  switch (e.hw) {
    case EventKind::Fault:
      mk->label = "fault";
      mk->label2 = sim::fault_reason_name(e.fault);
      mk->alert = true;
      break;
    case EventKind::UnsafeRead:
      mk->label = "unsafe read";
      mk->label2 = sim::hazard_name(e.hazard);
      mk->alert = true;
      break;
    case EventKind::QueueError:
      mk->label = e.v[0] == 16 ? "IQE" : e.v[0] == 64 ? "ITE" : "ICE";
      mk->alert = true;
      break;
    case EventKind::Dma:
      mk->label = std::string(e.write ? "write " : "read ") + sim::hex(e.iova);
      mk->label2 = e.fault != sim::FaultReason::None ? "-> fault" : "-> " + sim::hex(e.addr);
      mk->alert = e.fault != sim::FaultReason::None;
      break;
    default:
      break;
  }
}

void Builder::op_columns(uint32_t op) {
  const std::vector<Event>& ev = r_.trace[op].events;
  const size_t first = m_.columns.size();
  for (uint32_t i = 0; i < ev.size(); ++i) {
    const Event& e = ev[i];
    const Ref ref{op, i};
    if (e.kind == Kind::Hw) {
      hw(e, ref, op);
      continue;
    }
    if (e.kind == Kind::Step) {
      Column& c = open(ColumnKind::Step, op);
      c.step = e.text.substr(e.text.find('@'));
      continue;
    }
    open(ColumnKind::Events, op);
    static const std::map<Kind, Glyph> kGlyph = {
        {Kind::Store, Glyph::Store},    {Kind::Writeback, Glyph::Writeback},
        {Kind::Wait, Glyph::Wait},      {Kind::Nested, Glyph::Nested},
        {Kind::Blocked, Glyph::Nested}, {Kind::Note, Glyph::Note}};
    Mark* mk = &place(lane(e), kGlyph.at(e.kind), op);
    add(*mk, e, ref);
    switch (e.kind) {
      case Kind::Store:
        store_labels(e, p_.config, *mk);
        break;
      case Kind::Writeback:
        mk->label = "s" + std::to_string(e.index) + " clflush";
        mk->label2 = sim::hex(e.addr);
        break;
      case Kind::Wait:
        mk->label = "wait " + std::to_string(e.index);
        break;
      case Kind::Nested:
      case Kind::Blocked: {
        const size_t arrow = e.what.rfind(" -> ");
        mk->label = e.what.substr(0, arrow);
        mk->label2 = arrow == std::string::npos ? "" : e.what.substr(arrow + 1);
        break;
      }
      default:
        mk->label = e.what;
        break;
    }
  }
  fold_stores(first);
}

// Runs of three or more stores whose words the walker never reads, in an
// op where something else happens, fold into one column.
void Builder::fold_stores(size_t from) {
  auto quiet = [&](const Column& c) {
    if (c.kind != ColumnKind::Events || c.marks.size() != 1) return false;
    const Mark& mk = c.marks[0];
    if (mk.glyph != Glyph::Store && mk.glyph != Glyph::Writeback) return false;
    const Event& e = *trace::find(r_.trace, mk.refs[0]);
    if (mk.refs[0] == keep_) return false;
    for (int i = 0; i < std::max<int>(e.words, 1); ++i)
      if (read_words_.count((e.addr & ~7ull) + 8 * uint64_t(i))) return false;
    return true;
  };
  std::vector<Column> out(m_.columns.begin(), m_.columns.begin() + long(from));
  for (size_t i = from; i < m_.columns.size();) {
    size_t j = i;
    // The store a schedule point interrupts stays.
    while (j < m_.columns.size() && quiet(m_.columns[j]) &&
           !(j + 1 < m_.columns.size() && m_.columns[j + 1].kind == ColumnKind::Step))
      ++j;
    if (j - i < 3) {
      out.push_back(std::move(m_.columns[i]));
      ++i;
      continue;
    }
    Column c;
    c.kind = ColumnKind::Fold;
    c.op = c.op_last = m_.columns[i].op;
    Mark& mk = c.marks.emplace_back();
    mk.glyph = Glyph::Fold;
    mk.label = std::to_string(j - i) + " stores";
    mk.label2 = "not read";
    mk.title = "folded: stores the walker never reads";
    for (size_t k = i; k < j; ++k) {
      mk.title +=
          "\n" + m_.columns[k].marks[0].title.substr(0, m_.columns[k].marks[0].title.find('\n'));
      mk.refs.push_back(m_.columns[k].marks[0].refs[0]);
    }
    out.push_back(std::move(c));
    i = j;
  }
  m_.columns = std::move(out);
}

// A fetch's label: the entry's kind and how its quanta relate to the op.
void Builder::finish_quanta() {
  for (Column& c : m_.columns)
    for (Mark& mk : c.marks) {
      if (mk.glyph != Glyph::Quanta) continue;
      const Event& e = *trace::find(r_.trace, mk.refs[0]);
      if (mk.label.empty())
        mk.label =
            is_pte(e.entry_kind) ? sim::entry_kind_name(e.entry_kind) : short_kind(e.entry_kind);
      if (is_pte(e.entry_kind) && mk.quanta.size() > 1)
        mk.label += " x" + std::to_string(mk.quanta.size());
      const Value v = combine(mk.quanta);
      if (v != Value::Unchanged) {
        mk.label2 = value_name(v);
        mk.label2_color = value_color(v);
        mk.alert = v == Value::Torn;
      }
    }
}

void Builder::marker() {
  const harness::Result& r = r_;
  if (!r.violated || r.violation.op_index >= r.trace.size()) return;
  const oracle::Violation& v = r.violation;
  Marker& mk = m_.violation;
  mk.label =
      std::string(oracle::property_name(v.property)) + " " + oracle::property_title(v.property);
  mk.title = "VIOLATION " + mk.label + " at op " + std::to_string(v.op_index) + " " + v.op_text +
             ", " + v.point + ": " + v.what;
  for (const std::string& d : v.details) mk.title += "\n  " + d;
  // The event that shows it: at the point the oracle names, the last one
  // of the kinds that show this property (P1: the entry the walker
  // assembled, the one decoded as observed when there are several).
  const std::vector<Event>& ev = r.trace[v.op_index].events;
  std::string observed;
  for (const std::string& d : v.details)
    if (d.rfind("observed:", 0) == 0) observed = d.substr(d.find_first_not_of(' ', 9));
  Ref culprit;
  const size_t sp = v.point.find(' ');
  if (sp != std::string::npos) {
    const sim::PointKind pk =
        v.point.substr(0, sp) == "wait" ? sim::PointKind::Wait : sim::PointKind::Store;
    const uint32_t n = uint32_t(std::strtoul(v.point.c_str() + sp + 1, nullptr, 10));
    int best = -1;
    Ref point_ev;
    for (uint32_t i = 0; i < ev.size(); ++i) {
      const Event& e = ev[i];
      const bool point = e.kind == Kind::Wait ? pk == sim::PointKind::Wait
                         : e.kind == Kind::Store || e.kind == Kind::Writeback
                             ? pk == sim::PointKind::Store
                             : false;
      if (point && e.index == n) point_ev = {v.op_index, i};
      if (e.point != n || e.point_kind != pk || e.kind != Kind::Hw) continue;
      const std::vector<EventKind> want = culprits(oracle::property_name(v.property));
      const auto it = std::find(want.begin(), want.end(), e.hw);
      int score = it == want.end() ? 0 : int(want.end() - it) * 2;
      if (e.entry && !observed.empty() && e.entry->str() == observed) ++score;
      if (score >= best) best = score, culprit = {v.op_index, i};
    }
    if (!culprit.valid()) culprit = point_ev;
  }
  for (size_t c = 0; c < m_.columns.size() && !mk.found; ++c)
    for (const Mark& m : m_.columns[c].marks)
      if (culprit.valid() && std::find(m.refs.begin(), m.refs.end(), culprit) != m.refs.end()) {
        mk.found = true;
        mk.column = c;
        mk.lane = m.lane;
        break;
      }
  if (mk.found) return;
  // Judged as the op returned: a column of its own, on the cache the
  // signature names.
  Column& c = open(ColumnKind::End, v.op_index);
  Mark& m = c.marks.emplace_back();
  m.glyph = Glyph::End;
  Lane want;
  m.lane = end_lane(v.sig_text, &want) ? lane(want) : 0;
  m.label = "op returns";
  m.label2 = v.point == "end" ? "checked" : v.point;
  m.title = "the oracle judged the op as it returned";
  mk.found = true;
  mk.column = m_.columns.size() - 1;
  mk.lane = m.lane;
  if (m.lane)
    for (const Column& col : m_.columns)
      for (const Mark& x : col.marks)
        if (x.lane == m.lane && (x.glyph == Glyph::Fill || x.glyph == Glyph::Hit))
          mk.stale = x.refs.back();
}

void Builder::run() {
  for (size_t i = 0; i < r_.trace.size(); ++i) {
    const trace::OpTrace& t = r_.trace[i];
    m_.ops.push_back("op " + std::to_string(i) + ": " + t.op +
                     (t.status.empty() ? "" : " -> " + t.status));
  }
  lanes();
  const uint32_t bad = r_.violated ? r_.violation.op_index : UINT32_MAX;
  if (r_.violated && bad < r_.trace.size() && r_.violation.point.rfind("store ", 0) == 0) {
    const uint32_t n = uint32_t(std::strtoul(r_.violation.point.c_str() + 6, nullptr, 10));
    const std::vector<Event>& ev = r_.trace[bad].events;
    for (uint32_t i = 0; i < ev.size(); ++i)
      if ((ev[i].kind == Kind::Store || ev[i].kind == Kind::Writeback) && ev[i].index == n)
        keep_ = {bad, i};
  }
  auto quiet = [&](uint32_t op) {
    if (op == bad) return false;
    for (const Event& e : r_.trace[op].events)
      if (e.kind != Kind::Store && e.kind != Kind::Writeback) return false;
    return true;
  };
  for (uint32_t op = 0; op < r_.trace.size();) {
    if (!quiet(op)) {
      op_columns(op++);
      continue;
    }
    uint32_t last = op;
    while (last + 1 < r_.trace.size() && quiet(last + 1)) ++last;
    fold_ops(op, last);
    op = last + 1;
  }
  finish_quanta();
  marker();
  for (Column& c : m_.columns) {
    int w = c.kind == ColumnKind::Step ? 14 : c.kind == ColumnKind::Fold ? 64 : 34;
    for (const Mark& mk : c.marks) {
      w = std::max(w, text_width(mk.label) + 8);
      w = std::max(w, text_width(mk.label2) + 8);
      w = std::max(w, int(mk.quanta.size()) * 12 + 12);
    }
    c.width = std::min(w, 150);
  }
}

}  // namespace

Model layout(const prog::Program& p, const harness::Result& r) {
  Model m;
  Builder(p, r, m).run();
  return m;
}

}  // namespace vtd::tools::timeline

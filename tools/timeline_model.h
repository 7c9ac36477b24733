// The timeline's layout, before it is drawn (tools/timeline.cc): the trace
// events of a run (targets/trace.h) grouped into columns of marks, one
// lane per actor. A column is one thing happening: a CPU store, one entry
// fetched quantum by quantum (with the fills it made), a page walk, a DMA,
// a descriptor and what it invalidated. Ops where nothing but CPU stores
// happens fold into one column; so do long runs of stores the hardware
// never reads.
#pragma once

#include <string>
#include <vector>

#include "prog/program.h"
#include "targets/harness.h"
#include "targets/trace.h"

namespace vtd::tools::timeline {

struct Lane {
  trace::Actor actor = trace::Actor::Cpu;
  uint8_t cpu = 0;
  sim::CacheKind cache = sim::CacheKind::Context;
  sim::Sid sid;
  std::string name, sub;  // "DMA", "00:02.0"
  bool operator==(const Lane& o) const;
};

// How a quantum read relates to the op that was running: what the words
// held when the op began (old), when it returned (new), both alike
// (unchanged), a mix of old and new words (torn), or neither.
enum class Value : uint8_t { Unchanged, Old, New, Torn, Neither };
const char* value_color(Value v);
const char* value_name(Value v);

enum class Glyph : uint8_t {
  Store,
  Writeback,
  Wait,
  Note,
  Nested,
  Quanta,  // the walker's reads: one square per quantum, coloured by Value
  Fault,
  Unsafe,
  Fill,
  Hit,
  Evict,
  Inval,
  Desc,
  QueueError,
  Dma,
  Fold,
  End,
};

struct Mark {
  int lane = 0;
  Glyph glyph = Glyph::Store;
  std::vector<Value> quanta;  // Glyph::Quanta
  std::string label, label2;  // the lines under the mark
  const char* label2_color = nullptr;
  bool alert = false;            // drawn in red (a fault, a hazard, a torn entry)
  bool faded = false;            // an invalidation that removed nothing
  std::vector<trace::Ref> refs;  // the events it draws
  std::string title;             // the tooltip: their lines and decodings
};

enum class ColumnKind : uint8_t { Events, Step, Fold, End };

struct Column {
  ColumnKind kind = ColumnKind::Events;
  uint32_t op = 0, op_last = 0;  // op_last > op: a fold of several ops
  int width = 0;
  std::vector<Mark> marks;
  std::string step;  // ColumnKind::Step: "@store 1: dma dev=00:02.0 iova=0x1000 read"
};

struct Marker {
  bool found = false;
  size_t column = 0;
  int lane = 0;
  std::string label;  // "P1 torn-entry"
  std::string title;  // the violation, with the assembled entry decoded
  trace::Ref stale;   // judged as the op returned: the fill or hit of the line
};

struct Model {
  std::vector<Lane> lanes;
  std::vector<Column> columns;
  std::vector<std::string> ops;  // "op 10: replace dev=00:02.0 domain=2 -> ok"
  Marker violation;
};

Model layout(const prog::Program& p, const harness::Result& r);

// The pieces layout() names and colours with (tools/timeline_labels.cc).
int rank(const Lane& l);  // lanes top to bottom
Lane lane_of(const trace::Event& e);
Value combine(const std::vector<Value>& vs);  // of quanta, or words
Value value_of(const trace::Event& e);        // of a read (or an entry), against its op
bool is_pte(sim::EntryKind k);
bool entry_kind_of(sim::PageType t, bool scalable, sim::EntryKind* k);
std::string short_kind(sim::EntryKind k);  // "ctx", "pasid"
// A store's labels: "s3 pasid#0 q1" and the fields it changed.
void store_labels(const trace::Event& e, const sim::Config& c, Mark& m);
std::string hex_words(const uint64_t* v, int n);
// The cache a violation judged as the op returned names (its signature's
// entry kind), and the events that show each property.
bool end_lane(const std::string& sig, Lane* l);
std::vector<sim::EventKind> culprits(const std::string& property);

// A label's width in the timeline's font (monospace, 10 px).
constexpr int kCharWidth = 6;
inline int text_width(const std::string& s) {
  int n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;  // UTF-8: count code points
  return n * kCharWidth;
}

}  // namespace vtd::tools::timeline

// The execution trace of a program (DESIGN.md section 8: "the CPU stores
// of the failing op in order, the walker's quantum reads between them,
// cache fills/hits, and the violation"), as structured events: who acted
// (a CPU, the walker, one cache, one device's DMA, the invalidation
// queue), in which op, at which of the op's store or wait points, what it
// did, the entry or translation involved, and the line `explain` prints.
// The harness records them in one place (Recorder); the text trace
// (OpTrace::lines) and the timeline picture (tools/timeline.h) are both
// drawn from them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "prog/program.h"
#include "simulator/events.h"
#include "simulator/memory.h"
#include "simulator/schedule.h"
#include "simulator/translation.h"

namespace vtd::trace {

// One lane of the timeline each: every CPU, the walker, every cache, every
// device's DMA, the queue.
enum class Actor : uint8_t { Cpu, Walker, Cache, Dma, Queue };

enum class Kind : uint8_t {
  Store,      // a CPU store became visible to the hardware (addr, v, words)
  Writeback,  // a CPU cache line was written back (clflush): a store point too
  Wait,       // the CPU waits for the invalidation queue
  Step,       // a schedule point runs a step (the step's op text in `what`)
  Nested,     // an op of the second CPU returned (`what`: its text and status)
  Blocked,    // an op of the second CPU needs a lock the first CPU holds
  Hw,         // a hardware event (`hw`)
  Note,       // a line no structured event describes yet
};

// An event of the trace: op `op`, event `ev` of that op.
struct Ref {
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t op = kNone, ev = 0;
  bool valid() const { return op != kNone; }
  bool operator==(const Ref&) const = default;
};

struct Event {
  Kind kind = Kind::Note;
  Actor actor = Actor::Cpu;
  uint8_t cpu = 0;                                    // Actor::Cpu
  sim::CacheKind cache = sim::CacheKind::Context;     // Actor::Cache
  sim::EventKind hw = sim::EventKind::Read;           // Kind::Hw
  sim::PointKind point_kind = sim::PointKind::Store;  // the op's last point when it happened:
  uint32_t point = 0;                                 // its store or wait number (0: none yet)
  uint32_t index = 0;  // Store, Writeback, Wait, Step: the point's own number
  sim::Sid sid;
  uint32_t pasid = sim::kNoPasid;
  uint16_t did = 0;
  sim::PhysAddr addr = 0;
  sim::Iova iova = 0;
  // Store: the value (two words for a 128-bit store) and what the words
  // held before it. Read: the quantum read, and EntryFetched: the words the
  // walker assembled, each with what those words held when the op began
  // (hardware view) and when it returned (CPU view): old and new.
  // Descriptor: its two words.
  uint8_t words = 0;
  std::array<uint64_t, sim::kMaxWords> v{}, before{}, after{};
  sim::PageType page = sim::PageType::Free;  // Store: the page written
  sim::EntryKind entry_kind = sim::EntryKind::LegacyRoot;
  sim::Hazard hazard = sim::Hazard::None;
  sim::FaultReason fault = sim::FaultReason::None;
  bool write = false;  // Dma
  uint32_t count = 0;  // CacheInval: lines removed
  std::optional<sim::Entry> entry;
  std::optional<sim::Translation> xlat;
  // A fill: the walker read it came from; a hit: the fill that made the
  // line; a DMA: the fill, hit or fault that gave its translation; an
  // entry: the read that began it when that was in an earlier op (a walk
  // parked across ops).
  Ref from;
  std::string what;  // Step, Nested, Note: the op or line
  std::string text;  // the line explain prints
};

struct OpTrace {
  std::string op;      // op text
  std::string status;  // "ok", "-ENOMEM", ...
  std::vector<Event> events;

  // What explain prints under the op, one line per event.
  std::vector<std::string> lines() const;
  // A line no structured event describes (Kind::Note on the first CPU).
  void note(std::string line);
};

using Trace = std::vector<OpTrace>;

const Event* find(const Trace& t, Ref r);

// Records the trace of a run into `out` (the harness's recording sites).
// Memory is read for what a line shows: page types, the words a quantum
// held when the op began and when it returned.
class Recorder {
 public:
  Recorder(Trace* out, const sim::PhysMemory& mem) : out_(out), mem_(mem) {}

  void begin_op(std::string text);
  void end_op(std::string status);
  // The first CPU reached a store (or writeback) or wait point.
  void point(const sim::PreemptPoint& pp, sim::PointKind kind, uint32_t index);
  // A schedule point runs `step` there.
  void step(sim::PointKind kind, uint32_t index, const prog::Op& step);
  void nested(const prog::Op& op, const char* status);
  void blocked();
  void hw(const sim::HwEvent& e);
  void note(std::string line);

 private:
  Event& add(Kind k, Actor a, std::string text);
  Ref parked(const Event& e, Ref self) const;

  Trace* out_;
  const sim::PhysMemory& mem_;
  sim::PointKind point_kind_ = sim::PointKind::Store;
  uint32_t point_ = 0;
  Ref walker_;  // the walker's last read since the last DMA
  Ref xlat_;    // the last IOTLB or device-TLB fill or hit, or fault, since then
};

}  // namespace vtd::trace

// The transitions target (DESIGN.md section 9): an exhaustive checker for one
// entry transition. For one (old, new) pair it records what a writer does
// (its CPU stores, ordering points, clflushes, flush groups and cache-tag
// moves) through a CpuMemory and a WriterCtx of its own, then enumerates
// every way the hardware's quantum fetches can interleave with those stores:
// every order the stores may become visible in (walker.h / memory.h rules),
// every quantum order, every fetch start, and on a non-coherent IOMMU every
// cache-line write-back. A reachability search with memoization; no
// simulator Machine is involved.
//
// The parts: record.cc (the writer's events), explore.cc (the search),
// judge.cc (the rules, through the shared model of oracle/model.h and the
// descriptor reference of oracle/scope.h), matrix.cc (the generated pairs),
// report.cc (the table and the witnesses), emit.cc (ops reproducers).
//
// Judged, per assembled entry:
//   P1     present, and its configuration (oracle::legal_configuration) is
//          neither the old nor the new
//   P3     not present while the writer declared the update hitless
//   P5     one side's translation under the other side's DID, when both
//          sides' IOTLB fills are tagged alike (B5)
//   P4     a cacheable entry (anything but the final configuration) that no
//          entry-cache invalidation submitted after the fetch completed drops
// and once per transition:
//   final  the hardware-visible entry when update() returns is not the target
//          configuration, or (non-coherent) its line was not written back
//   tags   a DID the entry carries is not tagged (or the tag moves are not
//          the contract's: tag_add(New)/tag_remove(Old) exactly once)
//   contract  write128 without cmpxchg16b, a failed update, ...
//
// One fetch is explored at a time (fetches are independent); an
// interleaving is one complete schedule of that fetch against the update.
// Quanta no store changes read the same whenever read: they are fetched
// with the first. Library code: deterministic, never prints, never exits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "driver/writer.h"
#include "oracle/properties.h"
#include "simulator/formats.h"
#include "simulator/invq.h"

namespace vtd::transitions {

// One transition and the platform it runs on.
struct Spec {
  sim::Entry old, target;  // the kind is old.kind (LegacyContext, ScalableContext, PasidEntry)
  int quantum_bits = 128;  // hardware fetch quantum: 64 or 128
  bool cpu128 = true;      // cmpxchg16b (Caps::cpu128)
  bool coherent = true;    // ECAP.C
  bool cm = false;         // CAP.CM
  sim::EntryKind kind() const { return old.kind; }
  drv::Caps caps() const;
  std::string variant() const;  // "cpu128 q128 coherent" (+ " cm")
};

// Where the recorded entry lives and whom it belongs to.
constexpr sim::PhysAddr kEntryPa = 0x01000100;  // 64-byte aligned: one cache line
const sim::Sid kSid(0, 2, 0);
constexpr uint32_t kPasid = 0;  // RID_PASID: the entry attach/replace/detach move

// ------------------------------------------------------------ recording --

enum class EvKind : uint8_t { Store, Fence, Clflush, Group, TagAdd, TagRemove };
enum class StoreKind : uint8_t { Plain, Once, Wide };

struct Event {
  EvKind kind = EvKind::Fence;
  StoreKind store = StoreKind::Plain;
  sim::PhysAddr pa = 0;    // Store: first word; Clflush: start
  uint64_t v[2] = {0, 0};  // Store: the value(s) (Wide: two words)
  uint64_t len = 0;        // Clflush: bytes
  uint32_t group = 0;      // Group: index into Recording::groups
  drv::Side side = drv::Side::Old;
  uint16_t did = 0;  // TagAdd / TagRemove
};

struct Recording {
  drv::Transition t;
  drv::Caps caps;
  std::vector<Event> events;
  std::vector<std::vector<sim::Descriptor>> groups;  // one per submit()
  uint32_t stores = 0;    // CPU stores to the entry (a write128 counts one)
  uint32_t stray = 0;     // stores anywhere else
  uint16_t temp_did = 0;  // the temporary DID handed out by alloc_did()
  drv::Status status = drv::Status::Ok;
  std::vector<std::string> problems;  // contract breaches seen while recording
};

// Runs w.update() for the transition with a recording CpuMemory/WriterCtx.
Recording record(drv::Writer& w, const Spec& s);

// ------------------------------------------------------------- checking --

// What a finding breaks: one of the oracle's properties
// (oracle/properties.def), or one of the checker's rules about the writer
// contract (driver/writer.h) that no hardware fetch shows:
//   final     the entry when update() returns is not the target (or, on a
//             non-coherent IOMMU, its line was not written back)
//   tags      a DID the entry carries is not tagged, or the tag moves are
//             not the contract's
//   contract  write128 without cmpxchg16b, a failed update, ...
enum class Rule : uint8_t { Property, Final, Tags, Contract };

struct Finding {
  Rule rule = Rule::Property;
  oracle::Property property = oracle::Property::P1;  // when rule == Property
  std::string label() const;                         // "P1", "final", "tags", "contract"
  std::string what;                                  // one line
  sim::Entry observed;                               // the assembled (or final) entry
  // The schedule that leads there, one step an element ("store 2",
  // "fetch q0 (P)", "flush 1 (drains the fetch)", "eviction (write-back)").
  std::vector<std::string> witness;
  // For reproduction: entry stores visible (in program order numbering, the
  // last one made visible) when the fetch began, and the flush group that
  // drained it (-1: it completed on its own).
  int fetch_store = 0;
  int drained_by = -1;
  int evict_store = 0;  // stores visible at the last write-back before the fetch (0: none)
};

struct Result {
  bool supported = true;  // Writer::supports(caps)
  Recording rec;
  bool hitless_declared = false;
  bool hitless_observed = false;  // both present, no fetch saw not-present or P1
  bool saw_not_present = false;
  uint64_t interleavings = 0;     // complete schedules (saturating)
  uint64_t states = 0;            // distinct search states
  uint32_t observations = 0;      // distinct assembled entries
  std::vector<Finding> findings;  // one per (property, observed entry)
  bool violated() const { return !findings.empty(); }
};

Result check(drv::Writer& w, const Spec& s);

// --------------------------------------------------------------- matrix --

// One end of a matrix row, as data: what the emitter needs to rebuild the
// transition through the iommu-core API.
struct End {
  enum Type : uint8_t {
    None,  // not present
    // PASID entry (PGTT)
    Second,
    First,
    Nested,
    PassThrough,
    // legacy context entry (TT)
    Translate,
    DevTlb,
    CtxPassThrough,
    // scalable context entry
    Present,
  } type = None;
  uint16_t did = 0;
  int roots = 0;       // 0: table set A, 1: set B
  uint32_t flags = 0;  // kFlag* below
  uint8_t aw = 0;      // 0: the default for the type
};
enum : uint32_t {
  kFlagFpd = 1,
  kFlagPgsnp = 2,
  kFlagWpe = 4,
  kFlagSre = 8,
  kFlagDte = 16,
  kFlagNoPaside = 32,
  kFlagPre = 64,
  kFlagRidPasid = 128,  // scalable context: RID_PASID = 1
};

sim::Entry entry_of(sim::EntryKind k, const End& e);
std::string label_of(sim::EntryKind k, const End& e);  // "fs:6:B+pgsnp"

struct Row {
  sim::EntryKind kind = sim::EntryKind::PasidEntry;
  End from, to;
  Spec spec;
  std::string kind_name() const;  // "context", "sm-context", "pasid"
  std::string name() const;       // "pasid ss:5:A -> fs:6:A cpu128 q128 coherent"
};

enum class KindSet : uint8_t { Context, Pasid, All };

struct MatrixOptions {
  KindSet kinds = KindSet::All;
  bool noncoherent = true;  // every row also on a non-coherent IOMMU
  bool cm = true;           // every row also with CAP.CM=1
  int quantum_bits = 0;     // 0: the CPU's store width (128 with cmpxchg16b, else 64)
};

// Every PGTT pair, not-present to and from present, same/different DID and
// roots, flag changes (PASID entries); TT pairs, roots, DIDs, AW, FPD
// (legacy context); present/not, PASID directory pointer, DTE/PASIDE/PRE,
// RID_PASID (scalable context). Each under both CPU store widths (the fetch
// quantum follows the store width unless quantum_bits says otherwise),
// coherent and not, CM=0 and 1.
std::vector<Row> matrix(const MatrixOptions& o);

// A row from fuzz input bytes (any bytes decode to valid entries).
Row row_from_bytes(const uint8_t* data, size_t size);

// The table of `vtdfuzz transitions`.
std::string row_header();
std::string row_text(const Row& row, const Result& r);
// Indented lines under a violating row: the first finding of each property
// (every finding when `every`), what the hardware assembled, and the
// schedule that leads there ("store 2, fetch q0 (P), store 3, flush 1
// (drains the fetch)": stores numbered in program order as they become
// visible, quanta as fetched, flush groups numbered as submitted).
std::vector<std::string> finding_lines(const Result& r, bool every = false);

// A stable signature of a finding (property, writer, kind, from, to shapes).
uint64_t signature(const std::string& writer, const Row& row, const Finding& f);

}  // namespace vtd::transitions

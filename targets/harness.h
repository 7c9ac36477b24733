// Runs a program: a fresh machine, the driver with the selected writer, the
// oracle watching. Each op goes through the iommu-core API (or is a
// hardware step); its schedule points run hardware steps, or an op of the
// second CPU, when the op's N-th store becomes visible (or N-th wait).
#pragma once

#include <string>
#include <vector>

#include "oracle/oracle.h"
#include "prog/minimize.h"
#include "prog/program.h"
#include "targets/trace.h"

namespace vtd::harness {

struct Options {
  std::string writer;  // overrides the program's writer when set
  std::string lu;      // overrides the program's live-update flow when set
  // Overrides the propagator of a program that names one (`viommu NAME`,
  // DESIGN.md section 13): such a program runs in targets/viommu.h.
  std::string viommu;
  bool trace = false;  // record what `explain` shows
  // Abstract-state features for a fuzzing engine (never affect the run):
  // the ops target turns them into libFuzzer extra counters, so inputs that
  // reach new states (DID sharing, caches filled under a DID, a schedule
  // point that ran inside a replace...) are kept even when no new code runs.
  void (*feature)(uint32_t f, void* ctx) = nullptr;
  void* feature_ctx = nullptr;
  // Where the machine's memory takes its pages from and leaves them
  // (simulator/memory.h): a fuzz target keeps one for all its inputs. Never
  // changes a run.
  sim::PagePool* pages = nullptr;
};

// Per op, the events explain shows (targets/trace.h).
using OpTrace = trace::OpTrace;

struct Result {
  std::string error;  // set when the program could not run (unknown writer, ...)
  std::string writer;
  std::string lu;      // the live-update flow named (by the program or the caller); empty: none
  std::string viommu;  // the propagator, for a vIOMMU program
  uint32_t ops_run = 0;
  bool violated = false;
  oracle::Violation violation;
  std::vector<OpTrace> trace;
};

Result run(const prog::Program& p, const Options& o);
// Why run() would refuse the program (unknown writer, flow or propagator,
// a vIOMMU program on a host it cannot run on), or "": what a command
// checks for every file before it runs any.
std::string check(const prog::Program& p, const Options& o);

// "vtdfuzz: VIOLATION P1 writer=legacy sig=... op=5 replace at store 1: <what>"
// (" lu=<flow>" after the writer when a live-update flow is named)
std::string summary_line(const Result& r);
// The whole report: summary, details, last hardware events.
std::string report(const Result& r);

// The minimizer's usual predicate (prog/minimize.h): the program still
// violates, with this signature.
minimize::Predicate same_signature(const std::string& writer, uint64_t signature,
                                   const std::string& viommu = "", const std::string& lu = "");

}  // namespace vtd::harness

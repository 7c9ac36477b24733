// The timeline of a run as a picture (`explain --svg`, `minimize --svg`,
// `transitions --emit DIR --svg`, the campaign's report.html): one lane per
// actor (each CPU, the invalidation queue, the hardware walker, each cache,
// each device's DMA), time left to right in the order of the trace's events
// (targets/trace.h, the same events explain prints); CPU stores labelled
// with the entry, quantum and fields they change; the walker's quantum
// reads coloured by whether they read what the entry held when the op
// began (old) or what it holds when the op returns (new); fills and hits
// linked to the read or fill they came from; schedule points as dashed
// lines; the violation marked, its decoded entries in a tooltip (<title>);
// ops as bands across the top, the ops where only CPU stores happen folded.
// Self-contained SVG 1.1 (no scripts, no external fonts), 1280 px wide;
// long runs wrap into several strips. Same input, same bytes.
#pragma once

#include <string>

#include "prog/program.h"
#include "targets/harness.h"

namespace vtd::tools {

struct TimelineOptions {
  std::string title;    // the heading: a file name, a finding
  bool details = true;  // the program and the verdict below the lanes
};

// `r` must come from a run with harness::Options::trace.
std::string timeline_svg(const prog::Program& p, const harness::Result& r,
                         const TimelineOptions& o);

// Runs `p` with the trace on (against `writer`, or the program's own when
// empty) and draws it; "" with *error set when it cannot run.
std::string render_timeline(const prog::Program& p, const std::string& writer,
                            const TimelineOptions& o, std::string* error);

}  // namespace vtd::tools

// Reproducers for the transitions checker: a violating row becomes an `ops`
// program (prog/program.h) that makes the same kind of transition through
// the iommu-core API — probe, domains of the row's types, attach, then the
// replace / detach / first attach — and a small search over schedule choices
// (a walk parked after K quanta at `@store N` or `@wait N`, `@choices` for
// store delays and chunk orders, a DMA at a store point for P3) until
// harness::run reports the violation. Only programs that reproduce are
// returned.
#pragma once

#include <cstdint>
#include <string>

#include "prog/program.h"
#include "transitions/transitions.h"

namespace vtd::transitions {

struct Reproducer {
  // False when the iommu-core API cannot make this transition (flag
  // changes, same DID with another table, ...): no program is searched.
  bool reachable = false;
  bool found = false;
  prog::Program program;
  std::string text;     // readable program with a comment header
  std::string verdict;  // harness::summary_line of the reproducing run
  uint32_t runs = 0;    // harness runs the search took
};

// `budget`: at most this many harness runs.
Reproducer reproduce(const std::string& writer, const Row& row, const Result& r,
                     uint32_t budget = 3000);

// A file name for the row's reproducer: "pasid-ss5A-to-fs6A-cpu128-q128-coherent.txt".
std::string reproducer_name(const Row& row);

}  // namespace vtd::transitions

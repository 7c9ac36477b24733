// Helpers shared by the transitions checker's suites: the writer contract's
// names (their hand-made writers implement drv::Writer over a WriterCtx),
// the generated matrix built once, and look-ups in a result's findings.
#pragma once

#include <string>
#include <vector>

#include "driver/writer.h"
#include "transitions/transitions.h"

namespace vtd::transitions::testutil {

using drv::Caps;
using drv::Side;
using drv::Status;
using drv::Transition;
using drv::WriterCtx;

// matrix({}), generated once per test binary.
inline const std::vector<Row>& Matrix() {
  static const std::vector<Row> rows = matrix({});
  return rows;
}

// The first finding labelled `label` ("P1", "tags", ...), or null.
inline const Finding* Labelled(const Result& r, const std::string& label) {
  for (const Finding& f : r.findings)
    if (f.label() == label) return &f;
  return nullptr;
}
inline bool Has(const Result& r, const std::string& label) {
  return Labelled(r, label) != nullptr;
}

// The row's name, then its findings' lines (every finding).
inline std::string Describe(const Row& row, const Result& r) {
  std::string s = row.name();
  for (const std::string& l : finding_lines(r, true)) s += "\n" + l;
  return s;
}

}  // namespace vtd::transitions::testutil

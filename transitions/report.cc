// The table of `vtdfuzz transitions` and the lines under a violating row.
#include <cinttypes>
#include <cstdio>

#include "transitions/transitions.h"

namespace vtd::transitions {

std::string row_header() {
  char b[256];
  snprintf(b, sizeof b, "%-10s %-20s %-20s %-27s %6s %6s %8s %8s %13s %10s", "kind", "from", "to",
           "variant", "stores", "groups", "hitless", "observed", "interleavings", "violations");
  return b;
}

std::string row_text(const Row& row, const Result& r) {
  char b[320];
  const std::string from = label_of(row.kind, row.from), to = label_of(row.kind, row.to);
  if (!r.supported) {
    snprintf(b, sizeof b, "%-10s %-20s %-20s %-27s   (the writer does not support this platform)",
             row.kind_name().c_str(), from.c_str(), to.c_str(), row.spec.variant().c_str());
    return b;
  }
  const bool both = row.spec.old.present() && row.spec.target.present();
  snprintf(b, sizeof b, "%-10s %-20s %-20s %-27s %6u %6zu %8s %8s %13" PRIu64 " %10zu",
           row.kind_name().c_str(), from.c_str(), to.c_str(), row.spec.variant().c_str(),
           r.rec.stores, r.rec.groups.size(), r.hitless_declared ? "yes" : "no",
           !both ? "-" : (r.hitless_observed ? "yes" : "no"), r.interleavings, r.findings.size());
  return b;
}

std::vector<std::string> finding_lines(const Result& r, bool every) {
  std::vector<std::string> out;
  for (size_t i = 0; i < r.findings.size(); ++i) {
    const Finding& f = r.findings[i];
    size_t same = 0;
    bool first = true;
    for (size_t j = 0; j < r.findings.size(); ++j)
      if (r.findings[j].label() == f.label()) {
        ++same;
        first &= j >= i;
      }
    if (!every && !first) continue;
    std::string head = "  " + f.label();
    if (!every && same > 1) head += " (" + std::to_string(same) + " distinct, the first)";
    out.push_back(head + ": " + f.what);
    if (f.rule != Rule::Contract) out.push_back("    observed: " + f.observed.str());
    if (f.witness.empty()) continue;
    std::string sched = "    schedule:";
    for (size_t k = 0; k < f.witness.size(); ++k) sched += (k ? ", " : " ") + f.witness[k];
    out.push_back(sched);
  }
  return out;
}

uint64_t signature(const std::string& writer, const Row& row, const Finding& f) {
  std::string s = f.label() + " " + writer + " " + row.kind_name() + " " +
                  label_of(row.kind, row.from) + " " + label_of(row.kind, row.to);
  uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ uint8_t(c)) * 1099511628211ull;
  return h;
}

}  // namespace vtd::transitions

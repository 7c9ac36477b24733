// The viommu fuzz target (libFuzzer; AFL++ through afl-clang-fast++
// -fsanitize=fuzzer): guest PASID-entry stores and descriptors into the
// virtual unit over assigned devices (targets/viommu.h decodes the input),
// judged by P13, P15 and P16. The propagator under test comes from
// VTDFUZZ_VIOMMU (reference when unset), so one binary fuzzes any
// registered propagator. A violation prints one summary line and aborts;
// with VTDFUZZ_PROPERTY=Pn (`hunt --property`), violations of other
// properties are reported once per signature and fuzzing goes on.
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "targets/harness.h"
#include "targets/viommu.h"
#include "vmm/propagator.h"

namespace {
std::string g_propagator;          // set once in LLVMFuzzerInitialize, read-only afterwards
std::string g_property;            // likewise; empty: every violation stops the engine
std::set<uint64_t> g_passed_over;  // signatures already reported as passed over
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  const char* v = getenv("VTDFUZZ_VIOMMU");
  g_propagator = v && *v ? v : "reference";
  if (!vtd::vmm::make_propagator(g_propagator)) {
    fprintf(stderr, "vtdfuzz: unknown propagator '%s' in VTDFUZZ_VIOMMU\n", g_propagator.c_str());
    exit(2);
  }
  const char* prop = getenv("VTDFUZZ_PROPERTY");
  g_property = prop ? prop : "";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vtd::prog::Program p = vtd::viommu::decode({data, size}, g_propagator);
  vtd::harness::Options o;
  vtd::harness::Result r = vtd::harness::run(p, o);
  if (!r.violated) return 0;
  std::string line = vtd::harness::summary_line(r);
  if (!g_property.empty() && g_property != vtd::oracle::property_name(r.violation.property)) {
    if (g_passed_over.insert(r.violation.signature).second)
      fprintf(stderr, "vtdfuzz: passed over (not %s) %s\n", g_property.c_str(),
              line.substr(line.find("VIOLATION")).c_str());
    return 0;
  }
  fprintf(stderr, "%s\n", line.c_str());
  abort();
}

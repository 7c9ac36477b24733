// The viommu fuzz target (libFuzzer; AFL++ through afl-clang-fast++
// -fsanitize=fuzzer): guest PASID-entry stores and descriptors into the
// virtual unit over assigned devices (targets/viommu.h decodes the input),
// judged by P13, P15 and P16. The propagator under test comes from
// VTDFUZZ_VIOMMU (reference when unset), so one binary fuzzes any
// registered propagator. What a violation does (stop, be passed over for `hunt --property`,
// be kept for `campaign`) is fuzz::Violations, as in every target.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>

#include "targets/fuzz_env.h"
#include "targets/harness.h"
#include "targets/viommu.h"
#include "vmm/propagator.h"

namespace {
std::string g_propagator;  // set once in LLVMFuzzerInitialize, read-only afterwards
std::optional<vtd::fuzz::Violations> g_violations;  // likewise
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  g_propagator = vtd::fuzz::propagator_from_env();
  g_violations.emplace();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vtd::prog::Program p = vtd::viommu::decode({data, size}, g_propagator);
  vtd::harness::Options o;
  return g_violations->on(vtd::harness::run(p, o), data, size);
}

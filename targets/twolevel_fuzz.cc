// The twolevel fuzz target (libFuzzer; AFL++ through afl-clang-fast++
// -fsanitize=fuzzer): a guest driver over a vIOMMU over the host
// (targets/viommu.h). The bytes are the ops target's binary form read the
// guest's way (prog::decode_guest: the iommu-core calls are the guest
// driver's, hardware steps the host's). The propagator comes from
// VTDFUZZ_VIOMMU (reference when unset), the guest's writer from
// VTDFUZZ_WRITER (entry-sync when unset). A violation prints one summary
// line and aborts; VTDFUZZ_PROPERTY=Pn passes over the others, as in the
// ops target.
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "prog/mutator.h"
#include "prog/program.h"
#include "targets/fuzz_env.h"
#include "targets/harness.h"
#include "vmm/propagator.h"

namespace {
std::string g_writer;              // set once in LLVMFuzzerInitialize, read-only afterwards
std::string g_propagator;          // likewise
std::string g_property;            // likewise; empty: every violation stops the engine
std::set<uint64_t> g_passed_over;  // signatures already reported as passed over
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  g_writer = vtd::fuzz::writer_from_env();
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
  vtd::prog::Program p = vtd::prog::decode_guest({data, size}, g_propagator);
  p.config.scalable = p.config.coherent = true;  // a vIOMMU's host
  vtd::harness::Options o;
  o.writer = g_writer;
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

// libFuzzer's own byte-level mutator; weak, so that the AFL++ driver links.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size)
    __attribute__((weak));

// As in the ops target (ops_fuzz.cc): half of the mutations on whole
// records, read the guest's way, half libFuzzer's own.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  static const std::vector<vtd::prog::Token> tokens = vtd::prog::tokens();
  if ((seed & 1) || !LLVMFuzzerMutate) {
    vtd::prog::Mutated m = vtd::prog::mutate(data, size, max_size, seed >> 1, tokens, true);
    if (m.kind != vtd::prog::Mutation::None || !LLVMFuzzerMutate) return m.size;
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

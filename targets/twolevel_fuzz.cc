// The twolevel fuzz target (libFuzzer; AFL++ through afl-clang-fast++
// -fsanitize=fuzzer): a guest driver over a vIOMMU over the host
// (targets/viommu.h). The bytes are the ops target's binary form read the
// guest's way (prog::decode_guest: the iommu-core calls are the guest
// driver's, hardware steps the host's). The propagator comes from
// VTDFUZZ_VIOMMU (reference when unset), the guest's writer from
// VTDFUZZ_WRITER (entry-sync when unset). What a violation does is
// fuzz::Violations, as in every target.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "prog/mutator.h"
#include "prog/program.h"
#include "targets/fuzz_env.h"
#include "targets/harness.h"
#include "vmm/propagator.h"

namespace {
std::string g_writer;      // set once in LLVMFuzzerInitialize, read-only afterwards
std::string g_propagator;  // likewise
std::optional<vtd::fuzz::Violations> g_violations;  // likewise
bool g_raw = false;  // VTDFUZZ_RAW (soak --raw): libFuzzer's byte mutations only
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  g_writer = vtd::fuzz::writer_from_env();
  g_propagator = vtd::fuzz::propagator_from_env();
  g_violations.emplace();
  g_raw = getenv("VTDFUZZ_RAW") != nullptr;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vtd::prog::Program p;  // each input decodes into the last one's storage
  vtd::prog::decode_guest({data, size}, g_propagator, &p);
  p.config.scalable = p.config.coherent = true;  // a vIOMMU's host
  vtd::harness::Options o;
  o.writer = g_writer;
  return g_violations->on(vtd::harness::run(p, o), data, size);
}

// libFuzzer's own byte-level mutator; weak, so that the AFL++ driver links.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size)
    __attribute__((weak));

// As in the ops target (ops_fuzz.cc): half of the mutations on whole
// records, read the guest's way, half libFuzzer's own.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  static const std::vector<vtd::prog::Token> tokens = vtd::prog::tokens();
  if (g_raw && LLVMFuzzerMutate) return LLVMFuzzerMutate(data, size, max_size);
  if ((seed & 1) || !LLVMFuzzerMutate) {
    vtd::prog::Mutated m = vtd::prog::mutate(data, size, max_size, seed >> 1, tokens, true);
    if (m.kind != vtd::prog::Mutation::None || !LLVMFuzzerMutate) return m.size;
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

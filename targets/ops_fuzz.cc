// The ops fuzz target (libFuzzer's LLVMFuzzerTestOneInput; AFL++ through
// afl-clang-fast++ -fsanitize=fuzzer). Every input is a program; the writer
// under test comes from VTDFUZZ_WRITER, not from the input, so one binary
// fuzzes any registered writer (and a live-update flow, from VTDFUZZ_LU).
// What a violation does (stop, be passed over for `hunt --property`, be kept
// for `campaign`) is fuzz::Violations.
#include <bitset>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "driver/writer.h"
#include "prog/mutator.h"
#include "targets/fuzz_env.h"
#include "targets/harness.h"

namespace {
std::string g_writer;  // set once in LLVMFuzzerInitialize, read-only afterwards
std::string g_lu;      // likewise
std::optional<vtd::fuzz::Violations> g_violations;  // likewise
bool g_raw = false;  // VTDFUZZ_RAW (soak --raw): libFuzzer's byte mutations only

// libFuzzer treats these as coverage: the harness's abstract-state features
// land here, so inputs reaching new states are kept. Engine feedback only:
// nothing reads them back, so runs stay deterministic. A feature is there
// or not (the counter is set, never counted up): how often one execution
// reaches a state would multiply each feature by libFuzzer's eight count
// buckets, and the counts that matter (devices sharing a DID, roots under
// one tag) are dimensions of the features themselves.
constexpr size_t kFeatures = 1 << 13;
#ifndef VTDFUZZ_AFL_FEATURES
__attribute__((section("__libfuzzer_extra_counters"))) uint8_t g_features[kFeatures];

void mark(uint32_t f, void*) {
  g_features[f % kFeatures] = 1;
}
#else
// AFL++ reads no libFuzzer extra counters: the features are edges of its
// own map instead. Its runtime gives each of these guards a map index (as
// it does a module's edges) when LLVMFuzzerInitialize registers them,
// before the fork server starts and the map size is fixed. A feature hits
// its guard once per input (presence, as above: `fired` is cleared when an
// input starts). Without them AFL++ saw code coverage only.
extern "C" void __sanitizer_cov_trace_pc_guard_init(uint32_t* start, uint32_t* stop);
extern "C" void __sanitizer_cov_trace_pc_guard(uint32_t* guard);
uint32_t g_guards[kFeatures];
std::bitset<kFeatures> g_fired;

void mark(uint32_t f, void*) {
  const size_t i = f % kFeatures;
  if (g_fired[i]) return;
  g_fired[i] = true;
  __sanitizer_cov_trace_pc_guard(&g_guards[i]);
}
#endif
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  g_writer = vtd::fuzz::writer_from_env();
  g_lu = vtd::fuzz::lu_from_env();
  g_violations.emplace();
  g_raw = getenv("VTDFUZZ_RAW") != nullptr;
#ifdef VTDFUZZ_AFL_FEATURES
  __sanitizer_cov_trace_pc_guard_init(g_guards, g_guards + kFeatures);
#endif
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
#ifdef VTDFUZZ_AFL_FEATURES
  g_fired.reset();
#endif
  static vtd::prog::Program p;  // each input decodes into the last one's storage
  vtd::prog::decode({data, size}, &p);
  vtd::harness::Options o;
  o.writer = g_writer;
  o.lu = g_lu;
  o.feature = mark;
  static vtd::sim::PagePool pages;  // the machine of one input leaves its pages to the next
  o.pages = &pages;
  return g_violations->on(vtd::harness::run(p, o), data, size);
}

// libFuzzer's own byte-level mutator; weak, so that engines without it (the
// AFL++ driver) still link: they never call the custom mutator below.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size)
    __attribute__((weak));

// Half of the mutations work on whole records (prog/mutator.h), half on
// bytes (libFuzzer's, with the dictionary and comparison operands); the
// seed is libFuzzer's, so a run stays reproducible with -seed.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  static const std::vector<vtd::prog::Token> tokens = vtd::prog::tokens();
  if (g_raw && LLVMFuzzerMutate) return LLVMFuzzerMutate(data, size, max_size);
  if ((seed & 1) || !LLVMFuzzerMutate) {
    vtd::prog::Mutated m = vtd::prog::mutate(data, size, max_size, seed >> 1, tokens);
    if (m.kind != vtd::prog::Mutation::None || !LLVMFuzzerMutate) return m.size;
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

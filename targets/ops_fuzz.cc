// The ops fuzz target (libFuzzer's LLVMFuzzerTestOneInput; AFL++ through
// afl-clang-fast++ -fsanitize=fuzzer). Every input is a program; the writer
// under test comes from VTDFUZZ_WRITER, not from the input, so one binary
// fuzzes any registered writer. A violation prints one summary line and
// aborts so the engine keeps the input. With VTDFUZZ_PROPERTY=Pn (`hunt
// --property`), violations of other properties are reported once per
// signature and fuzzing goes on.
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "driver/writer.h"
#include "prog/mutator.h"
#include "targets/fuzz_env.h"
#include "targets/harness.h"

namespace {
std::string g_writer;              // set once in LLVMFuzzerInitialize, read-only afterwards
std::string g_property;            // likewise; empty: every violation stops the engine
std::set<uint64_t> g_passed_over;  // signatures already reported as passed over
bool g_raw = false;                // VTDFUZZ_RAW (soak --raw): libFuzzer's byte mutations only

// libFuzzer treats these as coverage: the harness's abstract-state features
// land here, so inputs reaching new states are kept. Engine feedback only:
// nothing reads them back, so runs stay deterministic.
constexpr size_t kFeatures = 1 << 13;
__attribute__((section("__libfuzzer_extra_counters"))) uint8_t g_features[kFeatures];

void bump(uint32_t f, void*) {
  uint8_t& c = g_features[f % kFeatures];
  if (c < 255) ++c;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  g_writer = vtd::fuzz::writer_from_env();
  const char* prop = getenv("VTDFUZZ_PROPERTY");
  g_property = prop ? prop : "";
  g_raw = getenv("VTDFUZZ_RAW") != nullptr;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vtd::prog::Program p = vtd::prog::decode({data, size});
  vtd::harness::Options o;
  o.writer = g_writer;
  o.feature = bump;
  vtd::harness::Result r = vtd::harness::run(p, o);
  if (r.violated) {
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
  return 0;
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

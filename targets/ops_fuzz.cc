// The ops fuzz target (libFuzzer's LLVMFuzzerTestOneInput; AFL++ through
// afl-clang-fast++ -fsanitize=fuzzer). Every input is a program; the writer
// under test comes from VTDFUZZ_WRITER, not from the input, so one binary
// fuzzes any registered writer. A violation prints one summary line and
// aborts so the engine keeps the input. With VTDFUZZ_PROPERTY=Pn (`hunt
// --property`; or several, "P4|P2": `timetobug`), violations of other
// properties are reported once per signature and fuzzing goes on. With VTDFUZZ_FINDINGS=DIR
// (`campaign`) nothing aborts: the first input of each signature is written to
// DIR/<property>-<signature>, one line says so ("vtdfuzz: found PATH
// VIOLATION ..."), and fuzzing goes on, so one engine process runs a whole
// campaign row without libFuzzer's fork mode (which replays the corpus in
// every job) and still collects every signature.
#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
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
std::string g_findings;            // likewise; set: no violation stops the engine
std::set<uint64_t> g_passed_over;  // signatures already reported (passed over or found)
bool g_raw = false;                // VTDFUZZ_RAW (soak --raw): libFuzzer's byte mutations only

// libFuzzer treats these as coverage: the harness's abstract-state features
// land here, so inputs reaching new states are kept. Engine feedback only:
// nothing reads them back, so runs stay deterministic. A feature is there
// or not (the counter is set, never counted up): how often one execution
// reaches a state would multiply each feature by libFuzzer's eight count
// buckets, and the counts that matter (devices sharing a DID, roots under
// one tag) are dimensions of the features themselves.
constexpr size_t kFeatures = 1 << 13;
__attribute__((section("__libfuzzer_extra_counters"))) uint8_t g_features[kFeatures];

void mark(uint32_t f, void*) {
  g_features[f % kFeatures] = 1;
}
}  // namespace

// ASan's defaults for this target (ASAN_OPTIONS still overrides them). Every
// check stays; two costs per allocation go: filling new chunks with 0xbe
// (a debugging aid for uninitialized reads, which ASan does not detect),
// and a 256 MB quarantine, which made every allocation touch fresh memory
// (page faults were a tenth of the profile). 16 MB still holds the frees
// of about a hundred executions: a use after free within one is caught.
extern "C" const char* __asan_default_options() {
  return "max_malloc_fill_size=0:quarantine_size_mb=16";
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  g_writer = vtd::fuzz::writer_from_env();
  const char* prop = getenv("VTDFUZZ_PROPERTY");
  g_property = prop ? prop : "";
  const char* findings = getenv("VTDFUZZ_FINDINGS");
  g_findings = findings ? findings : "";
  g_raw = getenv("VTDFUZZ_RAW") != nullptr;
  return 0;
}

namespace {
// VTDFUZZ_PROPERTY names one property or several ("P4|P2").
bool wanted(const std::string& p) {
  size_t at = ("|" + g_property + "|").find("|" + p + "|");
  return at != std::string::npos;
}

// The first input of a signature, kept in the findings directory. O_EXCL:
// another process of the same campaign (--jobs) may have kept it first.
void keep(const vtd::harness::Result& r, const std::string& line, const uint8_t* data,
          size_t size) {
  char name[64];
  snprintf(name, sizeof name, "/%s-%016" PRIx64, vtd::oracle::property_name(r.violation.property),
           r.violation.signature);
  const std::string path = g_findings + name;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return;
  bool ok = write(fd, data, size) == ssize_t(size);
  close(fd);
  if (ok)
    fprintf(stderr, "vtdfuzz: found %s %s\n", path.c_str(),
            line.substr(line.find("VIOLATION")).c_str());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vtd::prog::Program p = vtd::prog::decode({data, size});
  vtd::harness::Options o;
  o.writer = g_writer;
  o.feature = mark;
  static vtd::sim::PagePool pages;  // the machine of one input leaves its pages to the next
  o.pages = &pages;
  vtd::harness::Result r = vtd::harness::run(p, o);
  if (r.violated) {
    std::string line = vtd::harness::summary_line(r);
    if (!g_findings.empty()) {
      if (g_passed_over.insert(r.violation.signature).second) keep(r, line, data, size);
      return 0;
    }
    if (!g_property.empty() && !wanted(vtd::oracle::property_name(r.violation.property))) {
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

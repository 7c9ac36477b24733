// The transitions fuzz target (libFuzzer; AFL++ through afl-clang-fast++
// -fsanitize=fuzzer): the input picks the entry kind, the old and new
// configurations (decoded into valid entries), the fetch quantum, the CPU
// store width, coherency and CM; the checker explores every interleaving
// of that one transition. The writer comes from VTDFUZZ_WRITER (default
// entry-sync). A violation prints one summary line and aborts.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "driver/writer.h"
#include "targets/fuzz_env.h"
#include "transitions/transitions.h"

namespace {
std::string g_writer;  // set once in LLVMFuzzerInitialize, read-only afterwards
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  g_writer = vtd::fuzz::writer_from_env();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vtd::transitions::Row row = vtd::transitions::row_from_bytes(data, size);
  if (row.spec.old == row.spec.target) return 0;
  // A fresh writer per input: nothing carries over between inputs.
  std::unique_ptr<vtd::drv::Writer> w = vtd::drv::make_writer(g_writer);
  const vtd::transitions::Result r = vtd::transitions::check(*w, row.spec);
  if (!r.violated()) return 0;
  const vtd::transitions::Finding& f = r.findings.front();
  fprintf(stderr, "vtdfuzz: VIOLATION %s writer=%s sig=%016" PRIx64 " transitions %s: %s\n",
          f.label().c_str(), g_writer.c_str(), vtd::transitions::signature(g_writer, row, f),
          row.name().c_str(), f.what.c_str());
  abort();
}

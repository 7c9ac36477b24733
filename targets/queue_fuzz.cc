// The queue fuzz target (libFuzzer; AFL++ through afl-clang-fast++
// -fsanitize=fuzzer): descriptors into the simulator's invalidation queue,
// each judged against the reference of targets/queue.h. No writer is
// involved: this target tests the hardware model the other targets trust.
// A finding prints one summary line and the input's listing, and aborts.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "targets/queue.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  const vtd::queue::Result r = vtd::queue::run(in);
  if (!r.violated()) return 0;
  const vtd::queue::Finding& f = r.findings.front();
  fprintf(stderr, "vtdfuzz: VIOLATION queue-%s writer=none sig=%016" PRIx64 " step %u: %s\n%s",
          f.rule.c_str(), vtd::queue::signature(f), f.step, f.what.c_str(),
          vtd::queue::listing(in).c_str());
  abort();
}

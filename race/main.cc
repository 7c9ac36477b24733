// vtdfuzz-race: real threads race on the simulator's memory under
// ThreadSanitizer (race/harness.h). Normally run through race/race.sh
// (./vtdfuzz race), which counts ThreadSanitizer's reports.
//
//   vtdfuzz-race --writer W [--time S] [--threads N] [--walkers N] [--seed X]
//                [--cpu64] [--quantum 64|128] [--check]
//
// Exit status: 0 clean, 1 a violation (P1 torn entry, P2 translation, P6
// unsafe read, P7 queue error, a failed op), 2 bad arguments.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "driver/writer.h"
#include "race/harness.h"

namespace {

int bad(const std::string& what) {
  fprintf(stderr, "vtdfuzz: %s\n", what.c_str());
  return 2;
}

bool number(const char* s, double lo, double hi, double* out) {
  char* end = nullptr;
  double v = strtod(s, &end);
  if (!s[0] || *end || !(v >= lo && v <= hi)) return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  vtd::race::Options o;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](double lo, double hi, double* out) {
      if (i + 1 >= argc) return false;
      return number(argv[++i], lo, hi, out);
    };
    double v = 0;
    if (a == "--writer") {
      if (i + 1 >= argc) return bad("--writer needs a name");
      o.writer = argv[++i];
    } else if (a == "--time") {
      if (!value(0.1, 1e6, &v)) return bad("--time needs a number of seconds");
      o.seconds = v;
    } else if (a == "--threads") {
      if (!value(1, 64, &v) || v != int(v)) return bad("--threads needs a count from 1 to 64");
      o.cpus = int(v);
    } else if (a == "--walkers") {
      if (!value(1, 64, &v) || v != int(v)) return bad("--walkers needs a count from 1 to 64");
      o.walkers = int(v);
    } else if (a == "--seed") {
      if (i + 1 >= argc) return bad("--seed needs a number");
      char* end = nullptr;
      const char* s = argv[++i];
      o.seed = strtoull(s, &end, 0);
      if (!s[0] || *end || s[0] == '-') return bad("--seed needs a non-negative integer");
    } else if (a == "--cpu64") {
      o.cpu128 = false;
    } else if (a == "--quantum") {
      if (!value(64, 128, &v) || (v != 64 && v != 128)) return bad("--quantum is 64 or 128");
      o.quantum = int(v);
    } else if (a == "--check") {
      check = true;
    } else {
      return bad("unknown option '" + a + "'");
    }
  }
  if (o.writer.empty()) return bad("--writer is required");
  auto writer = vtd::drv::make_writer(o.writer);
  if (!writer) return bad("unknown writer '" + o.writer + "'");
  vtd::drv::Caps caps;  // the harness's platform: scalable, coherent, CM=0
  caps.cpu128 = o.cpu128;
  if (!writer->supports(caps))
    return bad("writer '" + o.writer + "' does not support this platform" +
               (o.cpu128 ? "" : " (no cmpxchg16b)"));
  if (check) return 0;
  return vtd::race::run(o);
}

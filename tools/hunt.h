// Fuzzing a writer with libFuzzer or AFL++ through the ops target, and
// turning what the engine saves into a readable reproducer.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "prog/program.h"

namespace vtd::tools {

struct HuntSpec {
  std::string target = "ops";
  std::string writer;
  std::string lu;                    // live-update flow (VTDFUZZ_LU); empty: none named
  std::string viommu;                // the propagator (targets viommu and twolevel)
  std::string engine = "libfuzzer";  // or "afl"
  // The preset whose libFuzzer targets run: "fuzz", or "asan" (soak: ASan
  // and UBSan on the tool's own code too, CMakeLists.txt).
  std::string build = "fuzz";
  double seconds = 60;
  bool empty = false;       // start from an empty corpus (no seeds)
  bool keep_going = false;  // campaign: continue after a violation (VTDFUZZ_FINDINGS)
  int jobs = 1;
  std::vector<std::string> want;  // stop early once one of these properties is found
  std::string out;                // output directory
  std::string seeds;              // seed corpus (default corpus/<target>)
};

struct Finding {
  std::string property;  // "P1" (or "crash" for a sanitizer report)
  std::string sig;       // signature (hex)
  std::string line;      // the engine's summary line
  double seconds = 0;    // time to first sighting
  std::string input;     // the saved input
};

struct HuntResult {
  std::vector<Finding> findings;  // first of each signature, in order
  double seconds = 0;
  uint64_t execs = 0;
  double exec_per_sec = 0;
  uint64_t edges = 0;  // the engine's coverage count at the end (libFuzzer cov, AFL edges_found)
  std::string corpus;  // where the engine left its corpus
  std::string log;
};

HuntResult hunt(const HuntSpec& spec);

// The live-update flow the target runs every program with: the subject's
// flow, and for a writer on the ops target the reference flow, whatever a
// program's `lu` line names. A mutated program may name a catalog flow;
// on a writer's row that flow's bug would count as the writer's (the first
// hour of teardown-replace reported fresh-root's B15 as its own).
std::string flow_of(const HuntSpec& s);

// The binary of a target for an engine: build/<build>/targets/fuzz_<t>
// (libFuzzer; build "fuzz" or "asan") or build/afl/targets/fuzz_<t>.
std::string target_binary(const std::string& engine, const std::string& target,
                          const std::string& build = "fuzz");
// The libFuzzer flags of corpus/<target>.options (as OSS-Fuzz reads them):
// "-max_len=N", or none.
std::vector<std::string> libfuzzer_options(const std::string& target);

// libFuzzer -merge=1 of `ins` into `out` (which keeps what it has).
struct MergeResult {
  size_t inputs = 0;  // files in the input directories
  size_t before = 0;  // files in `out` before
  size_t after = 0;   // and after
};
MergeResult merge_corpus(const std::string& target, const std::string& writer,
                         const std::string& out, const std::vector<std::string>& ins);
size_t count_files(const std::string& dir);

// An engine input of the spec's target as a program (the ops and twolevel
// targets read the binary form, the viommu target its own, targets/viommu.h),
// with the spec's writer and propagator named in it.
prog::Program input_program(const std::string& bytes, const HuntSpec& s);

// What a finding is filed under (out/findings/<subject>/): the writer,
// lu-<flow> for a live-update flow, or the propagator on a vIOMMU target.
std::string subject_of(const HuntSpec& s);
std::string findings_dir(const HuntSpec& s);  // out/findings/<subject>

// Writes `<stem>.txt` and `<stem>.bin` for an engine input; returns the
// program.
prog::Program save_reproducer(const std::string& input, const HuntSpec& s, const std::string& stem);

}  // namespace vtd::tools

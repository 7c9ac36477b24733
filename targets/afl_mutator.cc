// The structure-aware mutator (prog/mutator.h) for AFL++, loaded by
// afl-fuzz through AFL_CUSTOM_MUTATOR_LIBRARY (AFL++ docs/custom_mutators.md)
// as its custom stage, before havoc; AFL++ keeps its own byte mutations.
// Opt-in: `vtdfuzz hunt --engine afl` passes it on only when the caller sets
// the variable (README, "Programs", has the figures). libFuzzer gets the
// same mutator through LLVMFuzzerCustomMutator (targets/ops_fuzz.cc). Built
// uninstrumented, by the release preset: it runs inside afl-fuzz.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "simulator/rng.h"
#include "prog/mutator.h"

namespace {

struct State {
  vtd::sim::Rng rng;
  std::vector<vtd::prog::Token> tokens = vtd::prog::tokens();
  size_t longest_token = 0;
  std::vector<uint8_t> out;
  explicit State(unsigned seed) : rng(seed) {
    for (const vtd::prog::Token& t : tokens)
      longest_token = std::max(longest_token, t.bytes.size());
  }
};

}  // namespace

extern "C" {

void* afl_custom_init(void* /*afl*/, unsigned int seed) {
  return new State(seed);
}

// The input is copied and mutated in a buffer the state owns (AFL++ only
// reads *out_buf). A mutation that does not fit or finds nothing to work on
// (a program cut short in its header) is tried again with the next seed; if
// none applies, one byte changes so AFL++ never runs the input unchanged.
size_t afl_custom_fuzz(void* data, uint8_t* buf, size_t buf_size, uint8_t** out_buf,
                       uint8_t* /*add_buf*/, size_t /*add_buf_size*/, size_t max_size) {
  State& s = *static_cast<State*>(data);
  // A mutation grows the program by one record or token at most; afl-fuzz's
  // max_size (1 MiB) would otherwise be zero-filled on every call.
  const size_t room = std::min(max_size, 2 * buf_size + s.longest_token);
  s.out.assign(buf, buf + buf_size);
  s.out.resize(std::max(room, buf_size));
  *out_buf = s.out.data();
  for (int attempt = 0; attempt < 4; ++attempt) {
    vtd::prog::Mutated m = vtd::prog::mutate(s.out.data(), buf_size, room, s.rng.next(), s.tokens);
    if (m.kind != vtd::prog::Mutation::None) return m.size;
  }
  if (buf_size == 0) {
    s.out.assign(1, uint8_t(s.rng.next()));
    *out_buf = s.out.data();
    return max_size ? 1 : 0;
  }
  s.out[s.rng.below(buf_size)] ^= uint8_t(1 + s.rng.below(255));
  return buf_size;
}

void afl_custom_deinit(void* data) {
  delete static_cast<State*>(data);
}

}  // extern "C"

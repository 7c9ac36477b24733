// Structure-aware mutation of binary programs. A byte mutator splices
// across record boundaries and has to land a dictionary token exactly where
// a record ends; this one works on whole records (DESIGN.md section 8):
// insert a dictionary token between two records, erase or copy a record,
// set one argument byte to a small value (references and store indices are
// small), or take a header token's flags and setup. The ops target hands
// half of libFuzzer's mutations to it and the rest to libFuzzer's own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "prog/program.h"

namespace vtd::prog {

// Programs with this many records only shrink or change under mutate().
constexpr size_t kGrowRecords = 24;

enum class Mutation { None, InsertToken, EraseRecord, CopyRecord, SmallArg, HeaderToken };

struct Mutated {
  Mutation kind = Mutation::None;
  size_t size = 0;         // the program's new size
  size_t at = 0, len = 0;  // the bytes inserted, erased or changed
};

// One mutation of the program in data[0, size), in place and within
// max_size bytes, chosen by `seed` alone; the program always changes. Kind
// None, size unchanged, when the mutation drawn does not fit or has nothing
// to work on (a program cut short inside its header): the caller then
// mutates bytes instead.
// `guest`: the records as decode_guest() reads them (the twolevel target).
Mutated mutate(uint8_t* data, size_t size, size_t max_size, uint64_t seed,
               std::span<const Token> tokens, bool guest = false);

}  // namespace vtd::prog

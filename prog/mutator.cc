#include "prog/mutator.h"

#include <cstring>
#include <vector>

#include "simulator/rng.h"

namespace vtd::prog {
namespace {

// Opens len bytes at `at` (len <= max_size - size checked by the caller).
void open_gap(uint8_t* data, size_t size, size_t at, size_t len) {
  memmove(data + at + len, data + at, size - at);
}

}  // namespace

Mutated mutate(uint8_t* data, size_t size, size_t max_size, uint64_t seed,
               std::span<const Token> tokens, bool guest) {
  Mutated m;
  m.size = size;
  const Layout l = layout({data, size}, guest);
  if (l.header_end > size || size > max_size) return m;  // cut short in the header: bytes first
  // cuts[i] .. cuts[i + 1] is record i; the last cut is the end.
  std::vector<size_t> cuts = l.records;
  cuts.push_back(size);
  const size_t n = l.records.size();
  sim::Rng rng{seed};
  size_t pick = rng.below(8);
  // Past kGrowRecords records, growing turns into erasing: long programs run
  // slower and are rarely what a finding needs (the setup byte builds the
  // machine; a minimal reproducer is a handful of records).
  if (n >= kGrowRecords && (pick <= 2 || pick == 4)) pick = 3;
  switch (pick) {
    case 0:
    case 1:
    case 2: {  // a record token between two records (or at either end)
      std::vector<const Token*> recs;
      for (const Token& t : tokens)
        if (!t.header) recs.push_back(&t);
      if (recs.empty()) return m;
      const Token& t = *recs[rng.below(recs.size())];
      const size_t at = cuts[rng.below(n + 1)];
      if (t.bytes.size() > max_size - size) return m;
      open_gap(data, size, at, t.bytes.size());
      memcpy(data + at, t.bytes.data(), t.bytes.size());
      return {Mutation::InsertToken, size + t.bytes.size(), at, t.bytes.size()};
    }
    case 3: {  // erase one record
      if (n == 0) return m;
      const size_t k = rng.below(n), at = cuts[k], len = cuts[k + 1] - cuts[k];
      memmove(data + at, data + at + len, size - at - len);
      return {Mutation::EraseRecord, size - len, at, len};
    }
    case 4: {  // copy one record to a boundary: the same op again, or a point on another op
      if (n == 0) return m;
      const size_t k = rng.below(n), from = cuts[k], len = cuts[k + 1] - cuts[k];
      const size_t at = cuts[rng.below(n + 1)];
      if (len > max_size - size) return m;
      std::vector<uint8_t> rec(data + from, data + from + len);
      open_gap(data, size, at, len);
      memcpy(data + at, rec.data(), len);
      return {Mutation::CopyRecord, size + len, at, len};
    }
    case 5:
    case 6: {  // one argument byte (not the record kind) to a small value
      if (n == 0) return m;
      const size_t k = rng.below(n), len = cuts[k + 1] - cuts[k];
      if (len < 2) return m;
      const size_t at = cuts[k] + 1 + rng.below(len - 1);
      // Another small value: an unchanged program would cost an execution.
      data[at] = uint8_t(data[at] < 8 ? (data[at] + 1 + rng.below(7)) % 8 : rng.below(8));
      return {Mutation::SmallArg, size, at, 1};
    }
    default: {  // a header token's flags and setup; the writer name stays
      std::vector<const Token*> heads;
      if (size < 3) return m;
      for (const Token& t : tokens)
        if (t.header && t.bytes.size() >= 3 && (t.bytes[1] != data[1] || t.bytes[2] != data[2]))
          heads.push_back(&t);
      if (heads.empty()) return m;
      const Token& t = *heads[rng.below(heads.size())];
      // The live-update setup stays once there (version 3): losing it would
      // drop what the ops after the setup were built on.
      data[1] = uint8_t(t.bytes[1] | (data[0] >= 3 ? data[1] & kLiveUpdateSetup : 0));
      data[2] = t.bytes[2];
      return {Mutation::HeaderToken, size, 1, 2};
    }
  }
}

}  // namespace vtd::prog

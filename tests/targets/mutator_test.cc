// The structure-aware mutator (prog/mutator.h) works on whole records:
// what it inserts, erases or copies is a record at a record boundary, the
// records it does not touch stay whole, it never writes past max_size, and
// the seed alone decides what it does. Checked on canonical programs from a
// seeded generator (same programs every run).
#include "prog/mutator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "prog/table.h"  // record numbers
#include "tests/targets/byte_strings.h"

namespace vtd::prog {
namespace {

// Canonical encodings of the shared byte strings; some name a writer.
std::vector<std::vector<uint8_t>> programs(size_t n) {
  std::vector<std::vector<uint8_t>> out;
  size_t i = 0;
  for (const std::vector<uint8_t>& b : byte_strings(n)) {
    Program p = decode(b);
    if (i++ % 3 == 0) p.writer = "entry-sync";
    out.push_back(encode(p));
  }
  return out;
}

struct Case {
  std::vector<uint8_t> before, after;
  Mutated m;
};

// The mutations of `kind` among 40 seeds on each of 200 programs, with
// `room` bytes to grow.
std::vector<Case> mutations(Mutation kind, size_t room) {
  const std::vector<Token> toks = tokens();
  std::vector<Case> out;
  for (const std::vector<uint8_t>& b : programs(200)) {
    for (uint64_t seed = 0; seed < 40; ++seed) {
      std::vector<uint8_t> buf = b;
      buf.resize(b.size() + room);
      Mutated m = mutate(buf.data(), b.size(), buf.size(), seed, toks);
      buf.resize(m.size);
      if (m.kind == kind) out.push_back({b, buf, m});
    }
  }
  return out;
}

std::vector<size_t> cuts(const std::vector<uint8_t>& b) {
  std::vector<size_t> c = layout(b).records;
  c.push_back(b.size());
  return c;
}

bool is_cut(const std::vector<uint8_t>& b, size_t at) {
  std::vector<size_t> c = cuts(b);
  return std::find(c.begin(), c.end(), at) != c.end();
}

// Bytes [from, to) of b.
std::vector<uint8_t> slice(const std::vector<uint8_t>& b, size_t from, size_t to) {
  return {b.begin() + long(from), b.begin() + long(to)};
}

// What the mutation put at [at, at + len) of `after`.
std::vector<uint8_t> put(const Case& c) {
  return slice(c.after, c.m.at, c.m.at + c.m.len);
}

// `after` is `before` with `len` bytes inserted at `at`.
bool inserted(const Case& c) {
  std::vector<uint8_t> back = c.after;
  back.erase(back.begin() + long(c.m.at), back.begin() + long(c.m.at + c.m.len));
  return back == c.before;
}

// Every record start of `before` is a record start of `after`, moved past
// the inserted bytes when it lies at or after them.
bool records_whole(const Case& c) {
  const std::vector<size_t> now = layout(c.after).records;
  for (size_t s : layout(c.before).records) {
    size_t moved = s < c.m.at ? s : s + c.m.len;
    if (std::find(now.begin(), now.end(), moved) == now.end()) return false;
  }
  return true;
}

TEST(Layout, OneRecordPerOpPointAndChoice_InTheOrderTheEncoderWroteThem) {
  const uint8_t sched = detail::kSchedRecord, choice = detail::kChoiceRecord;
  for (const std::vector<uint8_t>& b : programs(500)) {
    Program p = decode(b);
    // The setup byte of a canonical encoding is empty: every op is a record.
    std::vector<uint8_t> kinds;
    for (const Op& op : p.ops) {
      kinds.push_back(detail::record_of(op.kind));
      kinds.insert(kinds.end(), op.sched.size(), sched);
      kinds.insert(kinds.end(), op.choices.size(), choice);
    }
    Layout l = layout(b);
    ASSERT_EQ(l.header_end, 6 + p.writer.size() + p.lu.size() + p.viommu.size());
    ASSERT_EQ(l.records.size(), kinds.size());
    for (size_t i = 0; i < kinds.size(); ++i) ASSERT_EQ(b[l.records[i]], kinds[i]) << i;
    if (!kinds.empty()) ASSERT_EQ(l.records[0], l.header_end);
  }
}

TEST(Layout, AProgramCutShortInItsHeader_EndsItsHeaderPastTheBytes) {
  // A 5-letter writer, 2 given; the flow and propagator names read as none.
  const std::vector<uint8_t> b = {kVersion, 0, 0, 5, 'a', 'b'};
  Layout l = layout(b);
  EXPECT_EQ(l.header_end, 11u);
  EXPECT_TRUE(l.records.empty());
}

TEST(Mutator, InsertedToken_IsADictionaryRecordBetweenRecords_AndTheOthersStayWhole) {
  const std::vector<Token> toks = tokens();
  const std::vector<Case> cases = mutations(Mutation::InsertToken, 32);
  for (const Case& c : cases) {
    ASSERT_TRUE(inserted(c));
    ASSERT_TRUE(is_cut(c.before, c.m.at));
    const std::vector<uint8_t> tok = put(c);
    ASSERT_TRUE(std::any_of(toks.begin(), toks.end(),
                            [&](const Token& t) { return !t.header && t.bytes == tok; }));
    ASSERT_TRUE(records_whole(c));
  }
  EXPECT_GT(cases.size(), 500u);
}

TEST(Mutator, CopiedRecord_IsOneOfTheProgramsRecords_AtARecordBoundary) {
  const std::vector<Case> cases = mutations(Mutation::CopyRecord, 32);
  for (const Case& c : cases) {
    ASSERT_TRUE(inserted(c));
    ASSERT_TRUE(is_cut(c.before, c.m.at));
    const std::vector<uint8_t> rec = put(c);
    const std::vector<size_t> k = cuts(c.before);
    bool found = false;
    for (size_t i = 0; i + 1 < k.size(); ++i) found |= slice(c.before, k[i], k[i + 1]) == rec;
    ASSERT_TRUE(found);
    ASSERT_TRUE(records_whole(c));
  }
  EXPECT_GT(cases.size(), 300u);
}

TEST(Mutator, ErasedRecord_IsExactlyOneRecord) {
  const std::vector<Case> cases = mutations(Mutation::EraseRecord, 0);
  for (const Case& c : cases) {
    ASSERT_TRUE(is_cut(c.before, c.m.at));
    ASSERT_TRUE(is_cut(c.before, c.m.at + c.m.len));
    ASSERT_EQ(layout(c.after).records.size() + 1, layout(c.before).records.size());
    Case back{c.after, c.before, c.m};  // putting the record back restores the program
    ASSERT_TRUE(inserted(back));
  }
  EXPECT_GT(cases.size(), 300u);
}

TEST(Mutator, SmallArgument_ChangesOneByteAfterARecordKind_ToBelowEight) {
  const std::vector<Case> cases = mutations(Mutation::SmallArg, 0);
  for (const Case& c : cases) {
    ASSERT_EQ(c.after.size(), c.before.size());
    ASSERT_FALSE(is_cut(c.before, c.m.at));  // never a record's kind byte
    ASSERT_GE(c.m.at, layout(c.before).header_end);
    ASSERT_LT(c.after[c.m.at], 8);
    for (size_t i = 0; i < c.after.size(); ++i)
      if (i != c.m.at) ASSERT_EQ(c.after[i], c.before[i]);
  }
  EXPECT_GT(cases.size(), 600u);
}

TEST(Mutator, HeaderToken_ChangesFlagsAndSetup_NotTheWriterNorTheRecords) {
  const std::vector<Case> cases = mutations(Mutation::HeaderToken, 0);
  for (const Case& c : cases) {
    ASSERT_EQ(decode(c.after).writer, decode(c.before).writer);
    ASSERT_EQ(layout(c.after).records, layout(c.before).records);
    for (size_t i = 0; i < c.after.size(); ++i)
      if (i != 1 && i != 2) ASSERT_EQ(c.after[i], c.before[i]);
  }
  EXPECT_GT(cases.size(), 300u);
}

TEST(Mutator, NeverGrowsPastMaxSize_AndTheSeedAloneDecides) {
  const std::vector<Token> toks = tokens();
  std::map<Mutation, size_t> kinds;
  for (const std::vector<uint8_t>& b : programs(100)) {
    for (size_t room = 0; room < 16; ++room) {
      for (uint64_t seed = 0; seed < 16; ++seed) {
        std::vector<uint8_t> x = b, y = b;
        x.resize(b.size() + room);
        y.resize(b.size() + room);
        Mutated mx = mutate(x.data(), b.size(), x.size(), seed, toks);
        Mutated my = mutate(y.data(), b.size(), y.size(), seed, toks);
        ASSERT_LE(mx.size, b.size() + room);
        ASSERT_EQ(mx.size, my.size);
        ASSERT_EQ(x, y);
        if (mx.kind == Mutation::None) ASSERT_EQ(mx.size, b.size());
        ++kinds[mx.kind];
      }
    }
  }
  // Too little room makes some insertions give up; every kind still happens.
  for (Mutation k : {Mutation::None, Mutation::InsertToken, Mutation::EraseRecord,
                     Mutation::CopyRecord, Mutation::SmallArg, Mutation::HeaderToken})
    EXPECT_GT(kinds[k], 100u) << int(k);
}

TEST(Mutator, AProgramOfGrowRecordsOrMore_OnlyShrinksOrChanges) {
  const std::vector<Token> toks = tokens();
  Program p;
  for (size_t i = 0; i < kGrowRecords; ++i) {
    Op op;
    op.kind = OpKind::ResumeWalks;  // no arguments: one byte per record
    p.ops.push_back(op);
  }
  const std::vector<uint8_t> b = encode(p);
  ASSERT_EQ(layout(b).records.size(), kGrowRecords);
  std::map<Mutation, size_t> kinds;
  for (uint64_t seed = 0; seed < 256; ++seed) {
    std::vector<uint8_t> buf = b;
    buf.resize(b.size() + 64);
    Mutated m = mutate(buf.data(), b.size(), buf.size(), seed, toks);
    ASSERT_LE(m.size, b.size());
    ++kinds[m.kind];
  }
  EXPECT_EQ(kinds[Mutation::InsertToken] + kinds[Mutation::CopyRecord], 0u);
  EXPECT_GT(kinds[Mutation::EraseRecord], 64u);
}

// An unchanged program would cost the engine an execution for nothing.
TEST(Mutator, EveryMutation_ChangesTheProgram) {
  for (Mutation kind : {Mutation::InsertToken, Mutation::EraseRecord, Mutation::CopyRecord,
                        Mutation::SmallArg, Mutation::HeaderToken}) {
    std::vector<Case> cs = mutations(kind, 16);
    EXPECT_FALSE(cs.empty()) << int(kind);
    for (const Case& c : cs) ASSERT_NE(c.after, c.before) << "kind " << int(kind);
  }
}

TEST(Mutator, AProgramCutShortInItsHeader_IsLeftToTheByteMutator) {
  const std::vector<Token> toks = tokens();
  for (uint64_t seed = 0; seed < 64; ++seed) {
    std::vector<uint8_t> b = {kVersion, 0, 0, 5, 'a', 'b'}, room = b;
    room.resize(64);
    Mutated m = mutate(room.data(), b.size(), room.size(), seed, toks);
    ASSERT_EQ(m.kind, Mutation::None);
    ASSERT_EQ(m.size, b.size());
  }
}

}  // namespace
}  // namespace vtd::prog

// The AFL++ custom stage (targets/afl_mutator.cc), called as afl-fuzz calls
// it: the result fits max_size, is never the input unchanged (AFL++ would
// spend an execution on it), and the seed given to afl_custom_init decides
// the sequence.
extern "C" {
void* afl_custom_init(void* afl, unsigned int seed);
size_t afl_custom_fuzz(void* data, uint8_t* buf, size_t buf_size, uint8_t** out_buf,
                       uint8_t* add_buf, size_t add_buf_size, size_t max_size);
void afl_custom_deinit(void* data);
}

namespace vtd::prog {
namespace {

std::vector<std::vector<uint8_t>> afl_stage(unsigned seed, size_t room) {
  std::vector<std::vector<uint8_t>> out;
  void* st = afl_custom_init(nullptr, seed);
  for (std::vector<uint8_t> b : programs(60)) {
    for (int i = 0; i < 10; ++i) {
      uint8_t* res = nullptr;
      const size_t max = b.size() + room;
      size_t n = afl_custom_fuzz(st, b.data(), b.size(), &res, nullptr, 0, max);
      EXPECT_LE(n, std::max<size_t>(max, 1));
      std::vector<uint8_t> after(res, res + n);
      EXPECT_NE(after, b) << "the input came back unchanged";
      out.push_back(after);
    }
  }
  afl_custom_deinit(st);
  return out;
}

TEST(AflCustomStage, ChangesEveryInput_WithinMaxSize_AsTheSeedDecides) {
  for (size_t room : {size_t(0), size_t(64)}) {
    EXPECT_EQ(afl_stage(1, room), afl_stage(1, room));
    EXPECT_NE(afl_stage(1, room), afl_stage(2, room));
  }
}

}  // namespace
}  // namespace vtd::prog

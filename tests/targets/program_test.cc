// DESIGN.md section 8: every byte string decodes to a valid program, and
// binary -> text -> binary is the identity on canonical inputs. Checked on
// byte strings from a seeded generator (same strings every run).
#include "prog/program.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/targets/byte_strings.h"

namespace vtd::prog {
namespace {

TEST(ProgramFormat, EveryByteStringDecodes_AndItsEncodingIsAFixedPoint) {
  for (const std::vector<uint8_t>& b : byte_strings(3000)) {
    Program p = decode(b);
    std::vector<uint8_t> canon = encode(p);
    ASSERT_EQ(decode(canon), p);
    ASSERT_EQ(encode(decode(canon)), canon);
  }
}

// A fuzz target decodes every input into the last one's Program: nothing
// of the earlier input (ops, names, configuration) may show through, for
// the guest reading too.
TEST(ProgramFormat, DecodeIntoAUsedProgram_GivesWhatAFreshDecodeGives) {
  Program reused, guest_reused;
  for (const std::vector<uint8_t>& b : byte_strings(3000)) {
    decode(b, &reused);
    ASSERT_EQ(reused, decode(b));
    decode_guest(b, "reference", &guest_reused);
    ASSERT_EQ(guest_reused, decode_guest(b, "reference"));
  }
}

TEST(ProgramFormat, BinaryToTextToBinary_IsTheIdentityOnCanonicalInputs) {
  for (const std::vector<uint8_t>& b : byte_strings(3000)) {
    std::vector<uint8_t> canon = encode(decode(b));
    Program p = decode(canon);
    std::string text = to_text(p), err;
    Program back;
    ASSERT_TRUE(parse(text, &back, &err)) << err << "\n" << text;
    ASSERT_EQ(to_text(back), text);
    ASSERT_EQ(encode(back), canon) << text;
  }
}

// The header's setup byte: bits 0-1 devices, 2-3 domains (each mapping one
// page), 4-5 domain types, 6-7 the attach pattern. Checked for every value.
TEST(ProgramFormat, SetupByte_ExpandsIntoOpsThatPopulateTheMachine) {
  for (unsigned setup = 0; setup < 256; ++setup) {
    SCOPED_TRACE(setup);
    const size_t ndev = setup & 3, ndom = setup >> 2 & 3, attach = setup >> 6;
    Program p = decode(std::vector<uint8_t>{kVersion, 0, uint8_t(setup ^ kDefaultSetup), 0});
    size_t n[size_t(OpKind::kCount)] = {};
    for (const Op& op : p.ops) ++n[size_t(op.kind)];
    EXPECT_EQ(n[size_t(OpKind::Probe)], ndev);
    EXPECT_EQ(n[size_t(OpKind::Domain)], ndom);
    EXPECT_EQ(n[size_t(OpKind::Map)], ndom);
    const size_t attached = attach && ndom ? ndev : 0;
    EXPECT_EQ(n[size_t(OpKind::Attach)] + n[size_t(OpKind::SetPasid)], attached);
    EXPECT_EQ(n[size_t(OpKind::SetPasid)], attach == 3 ? attached : 0);
    EXPECT_EQ(p.ops.size(), ndev + 2 * ndom + attached);
    // The canonical form writes the ops out and an empty setup.
    std::vector<uint8_t> canon = encode(p);
    EXPECT_EQ(canon[2], kDefaultSetup);
    EXPECT_EQ(decode(canon), p);
  }
  // Zero bytes: two devices sharing a first-stage domain, a second to move to.
  Program shared = decode(std::vector<uint8_t>{kVersion, 0, 0, 0});
  EXPECT_EQ(to_text(shared),
            "writer -\n"
            "config scalable coherent quantum=128 cpu128\n"
            "probe dev=00:02.0\n"
            "probe dev=00:03.0\n"
            "domain 1 first-stage\n"
            "map 1 iova=0x0 pa=0x80000 rw\n"
            "domain 2 first-stage\n"
            "map 2 iova=0x0 pa=0x81000 rw\n"
            "attach dev=00:02.0 domain=1\n"
            "attach dev=00:03.0 domain=1\n");
}

// Schedule points and choices are records that belong to the op before
// them: inserting one changes no other byte's meaning.
TEST(ProgramFormat, ScheduleRecords_BelongToTheOpBeforeThem) {
  // Record numbers: the op kinds before cpu2, then points, then choices.
  const uint8_t kSched = uint8_t(OpKind::Cpu2), kChoice = kSched + 1;
  const std::vector<uint8_t> header = {kVersion, 0, 0, 0, 0, 0};  // two devices sharing domain 1
  const std::vector<uint8_t> replace = {uint8_t(OpKind::Replace), 0, 0};  // dev ref 0, dom ref 0
  const std::vector<uint8_t> dma = {kSched, 0, 0, 0, 0, 0, 0};            // @store 1: dma
  const std::vector<uint8_t> unmap = {kSched, 2, 7, 1, 0, 0, 0};          // @store 2: cpu2 unmap
  auto cat = [](std::initializer_list<std::vector<uint8_t>> parts) {
    std::vector<uint8_t> b;
    for (const auto& x : parts) b.insert(b.end(), x.begin(), x.end());
    return b;
  };
  Program one = decode(cat({header, replace, dma}));
  Program two = decode(cat({header, replace, dma, unmap, {kChoice, 5}}));
  ASSERT_EQ(one.ops.back().sched.size(), 1u);
  ASSERT_EQ(two.ops.back().sched.size(), 2u);
  EXPECT_EQ(two.ops.back().sched[0], one.ops.back().sched[0]);
  EXPECT_EQ(op_text(two.ops.back().sched[1].step.front()), "cpu2 unmap 2 iova=0x0");
  EXPECT_EQ(two.ops.back().sched[1].index, 2u);
  EXPECT_EQ(two.ops.back().choices, std::vector<uint32_t>{5});
  EXPECT_EQ(op_text(two.ops.back()), "replace dev=00:03.0 domain=2");
  // Records with no op before them, or past an op's limit, are dropped.
  Program lone = decode(cat({{kVersion, 0, kDefaultSetup, 0, 0, 0}, dma, {kChoice, 1}}));
  EXPECT_TRUE(lone.ops.empty());
  std::vector<uint8_t> many = cat({header, replace});
  for (size_t i = 0; i < kMaxSched + 3; ++i) many = cat({many, dma});
  EXPECT_EQ(decode(many).ops.back().sched.size(), kMaxSched);
}

// Format version 3 added the flow and propagator names to the header and
// keeps every version-2 record number: a version-2 input (every corpus file
// and reproducer from before) decodes as it always did, and re-encodes to
// version 3 with the same meaning.
TEST(ProgramFormat, Version2Input_DecodesAsBefore_AndReencodesToVersion3) {
  const uint8_t kSched = uint8_t(OpKind::Cpu2);
  // version 2: no names after the writer; a replace, @store 1: dma.
  const std::vector<uint8_t> v2 = {2, 0, 0, 2, 'l', 'u', uint8_t(OpKind::Replace), 0, 0, kSched,
                                   0, 0, 0, 0, 0,   0};
  const Program p = decode(v2);
  EXPECT_EQ(p.writer, "lu");
  EXPECT_TRUE(p.lu.empty());
  ASSERT_EQ(p.ops.back().kind, OpKind::Replace);
  ASSERT_EQ(p.ops.back().sched.size(), 1u);
  const std::vector<uint8_t> v3 = encode(p);
  EXPECT_EQ(v3[0], kVersion);
  EXPECT_EQ(decode(v3), p);
  // The same record bytes under a version-3 header read the same ops.
  std::vector<uint8_t> same = {kVersion, 0, 0, 2, 'l', 'u', 0, 0};
  same.insert(same.end(), v2.begin() + 6, v2.end());
  EXPECT_EQ(decode(same).ops, p.ops);
}

TEST(ProgramFormat, FlowAndPropagatorNames_RoundTripInBothForms) {
  Program p;
  std::string err;
  ASSERT_TRUE(
      parse("writer entry-sync\nlu reference\nviommu reference\nprobe dev=00:02.0\n", &p, &err))
      << err;
  EXPECT_EQ(p.lu, "reference");
  EXPECT_EQ(p.viommu, "reference");
  EXPECT_EQ(decode(encode(p)), p);
  Program q;
  ASSERT_TRUE(parse(to_text(p), &q, &err)) << err;
  EXPECT_EQ(q, p);
  EXPECT_FALSE(parse("probe dev=00:02.0\nlu reference\n", &q, &err));  // after an op
  EXPECT_FALSE(parse("lu Bad_Name\n", &q, &err));
}

TEST(ProgramFormat, BadTextIsRejectedWithOneLineNamingTheLine) {
  const char* bad[] = {"frobnicate dev=00:02.0\n", "attach dev=zz domain=1\n",
                       "domain 1 first-stage levels=9\n", "  @store 1: dma dev=00:02.0 iova=0x0\n"};
  for (const char* t : bad) {
    Program p;
    std::string err;
    EXPECT_FALSE(parse(t, &p, &err)) << t;
    EXPECT_FALSE(err.empty()) << t;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

// A fuzzer's input is bytes: one that starts like a text program ("#",
// "writer ", the dictionary's tokens) still loads as the targets decode it,
// so a finding replays as it ran; a text program loads as text.
TEST(ProgramFormat, LoadReadsBytesAsTheTargetsDo_AndTextAsText) {
  const std::string starts[] = {"#0", "writer ", "config ", " \n#"};
  for (const std::vector<uint8_t>& b : byte_strings(300)) {
    for (const std::string& start : starts) {
      std::vector<uint8_t> bytes(start.begin(), start.end());
      bytes.push_back(0);  // a control byte: never in a text program
      bytes.insert(bytes.end(), b.begin(), b.end());
      Program p;
      std::string err;
      ASSERT_TRUE(load(bytes, &p, &err)) << err;
      ASSERT_EQ(p, decode(bytes));
    }
    const std::string text = to_text(decode(b));
    Program p;
    std::string err;
    ASSERT_TRUE(load({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, &p, &err))
        << err;
    ASSERT_EQ(to_text(p), text);
  }
  const std::string typo = "writer entry-sync\nfrobnicate dev=00:02.0\n";
  Program p;
  std::string err;
  EXPECT_FALSE(load({reinterpret_cast<const uint8_t*>(typo.data()), typo.size()}, &p, &err));
  EXPECT_NE(err.find("frobnicate"), std::string::npos) << err;
}

}  // namespace
}  // namespace vtd::prog

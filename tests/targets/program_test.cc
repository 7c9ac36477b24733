// DESIGN.md section 8: every byte string decodes to a valid program, and
// binary -> text -> binary is the identity on canonical inputs. Checked on
// byte strings from a seeded generator (same strings every run).
#include "targets/program.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace vtd::prog {
namespace {

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Byte strings of every length up to 300, biased to small values so the
// decoder meets op kinds, references and schedule points, not just noise.
std::vector<std::vector<uint8_t>> byte_strings(size_t n) {
  std::vector<std::vector<uint8_t>> out;
  uint64_t s = 42;
  for (size_t i = 0; i < n; ++i) {
    std::vector<uint8_t> b(splitmix(s) % 300);
    for (uint8_t& x : b) {
      uint64_t r = splitmix(s);
      x = uint8_t(r % 4 == 0 ? r >> 8 : (r >> 8) % 24);
    }
    if (!b.empty() && i % 2) b[0] = kVersion;
    out.push_back(std::move(b));
  }
  return out;
}

TEST(ProgramFormat, EveryByteStringDecodes_AndItsEncodingIsAFixedPoint) {
  for (const std::vector<uint8_t>& b : byte_strings(3000)) {
    Program p = decode(b);
    std::vector<uint8_t> canon = encode(p);
    ASSERT_EQ(decode(canon), p);
    ASSERT_EQ(encode(decode(canon)), canon);
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

}  // namespace
}  // namespace vtd::prog

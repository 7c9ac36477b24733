// Entry formats (simulator/formats.h) against the bit positions and rules of
// VTD-REFERENCE.md. The spec tables below are written out independently of
// formats.cc; every case is generated from a matrix of field values and modes.
#include "simulator/formats.h"

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

namespace vtd::sim {
namespace {

// ------------------------------------------------------------- spec tables

struct SpecField {
  Field field;
  unsigned lsb;  // bit in the whole entry
  unsigned width;
  bool addr;  // get() returns the in-place (unshifted) value
};

struct SpecFormat {
  EntryKind kind;
  const char* name;
  unsigned words;
  std::vector<SpecField> fields;
  bool rest_reserved;  // every bit outside the fields must be zero when present
  // Mode axes: fields whose values select the entry's mode, with the values
  // the matrix enumerates (valid and invalid).
  std::vector<std::pair<Field, std::vector<uint64_t>>> axes;
  std::function<FaultReason(const Entry&)> expect_decode;
  std::function<std::vector<Field>(const Entry&)> expect_used;
};

std::vector<Field> all_fields(const std::vector<SpecField>& fs) {
  std::vector<Field> out;
  for (const SpecField& f : fs) out.push_back(f.field);
  return out;
}

bool in(uint64_t v, std::initializer_list<uint64_t> set) {
  for (uint64_t x : set)
    if (v == x) return true;
  return false;
}

const std::vector<SpecFormat>& spec() {
  static const std::vector<SpecFormat> kSpec = [] {
    std::vector<SpecFormat> s;
    // Root table entry, legacy: P 0, CTP 63:12; hi reserved.
    {
      SpecFormat f{EntryKind::LegacyRoot, "root", 2, {}, true, {}, {}, {}};
      f.fields = {{Field::P, 0, 1, false}, {Field::CTP, 12, 52, true}};
      f.axes = {{Field::P, {0, 1}}};
      f.expect_decode = [](const Entry& e) {
        return e.get(Field::P) ? FaultReason::None : FaultReason::RootNotPresent;
      };
      f.expect_used = [](const Entry& e) -> std::vector<Field> {
        if (!e.get(Field::P)) return {Field::P};
        return {Field::P, Field::CTP};
      };
      s.push_back(f);
    }
    // Root table entry, scalable: LP 0, LCTP 63:12; UP 64, UCTP 127:76.
    {
      SpecFormat f{EntryKind::ScalableRoot, "sm_root", 2, {}, true, {}, {}, {}};
      f.fields = {{Field::LP, 0, 1, false},
                  {Field::LCTP, 12, 52, true},
                  {Field::UP, 64, 1, false},
                  {Field::UCTP, 76, 52, true}};
      f.axes = {{Field::LP, {0, 1}}, {Field::UP, {0, 1}}};
      f.expect_decode = [](const Entry& e) {
        return e.get(Field::LP) || e.get(Field::UP) ? FaultReason::None
                                                    : FaultReason::RootNotPresent;
      };
      f.expect_used = [](const Entry& e) {
        std::vector<Field> u = {Field::LP, Field::UP};
        if (e.get(Field::LP)) u.push_back(Field::LCTP);
        if (e.get(Field::UP)) u.push_back(Field::UCTP);
        return u;
      };
      s.push_back(f);
    }
    // Legacy context entry: P 0, FPD 1, TT 3:2, SSPTPTR 63:12; AW 66:64, DID 87:72.
    {
      SpecFormat f{EntryKind::LegacyContext, "context", 2, {}, true, {}, {}, {}};
      f.fields = {{Field::P, 0, 1, false},   {Field::FPD, 1, 1, false},
                  {Field::TT, 2, 2, false},  {Field::SSPTPTR, 12, 52, true},
                  {Field::AW, 64, 3, false}, {Field::DID, 72, 16, false}};
      f.axes = {{Field::P, {0, 1}},
                {Field::FPD, {0, 1}},
                {Field::TT, {0, 1, 2, 3}},
                {Field::AW, {0, 1, 2, 3, 4, 7}}};
      f.expect_decode = [](const Entry& e) {
        if (!e.get(Field::P)) return FaultReason::ContextNotPresent;
        if (e.get(Field::TT) == 3) return FaultReason::ContextInvalid;
        if (!in(e.get(Field::AW), {1, 2, 3})) return FaultReason::ContextInvalid;
        return FaultReason::None;
      };
      f.expect_used = [fields = f.fields](const Entry& e) -> std::vector<Field> {
        if (!e.get(Field::P)) return {Field::P};
        switch (e.get(Field::TT)) {
          case kTtTranslate:
          case kTtDevTlb:
            return all_fields(fields);
          // Pass-through: no page table, so SSPTPTR is not read.
          case kTtPassThrough:
            return {Field::P, Field::FPD, Field::TT, Field::AW, Field::DID};
          default:
            return {Field::P, Field::FPD, Field::TT};  // invalid TT: nothing else matters
        }
      };
      s.push_back(f);
    }
    // Scalable-mode context entry (256 bit, low 128 defined).
    {
      SpecFormat f{EntryKind::ScalableContext, "sm_context", 4, {}, true, {}, {}, {}};
      f.fields = {{Field::P, 0, 1, false},
                  {Field::FPD, 1, 1, false},
                  {Field::DTE, 2, 1, false},
                  {Field::PASIDE, 3, 1, false},
                  {Field::PRE, 4, 1, false},
                  {Field::PDTS, 9, 3, false},
                  {Field::PASIDDIRPTR, 12, 52, true},
                  {Field::RID_PASID, 64, 20, false},
                  {Field::RID_PRIV, 84, 1, false}};
      f.axes = {{Field::P, {0, 1}}, {Field::PASIDE, {0, 1}}, {Field::PDTS, {0, 3, 7}}};
      f.expect_decode = [](const Entry& e) {
        return e.get(Field::P) ? FaultReason::None : FaultReason::ContextNotPresent;
      };
      f.expect_used = [fields = f.fields](const Entry& e) -> std::vector<Field> {
        if (!e.get(Field::P)) return {Field::P};
        return all_fields(fields);
      };
      s.push_back(f);
    }
    // PASID directory entry: P 0, FPD 1, SMPTBLPTR 63:12.
    {
      SpecFormat f{EntryKind::PasidDir, "pasid_dir", 1, {}, true, {}, {}, {}};
      f.fields = {
          {Field::P, 0, 1, false}, {Field::FPD, 1, 1, false}, {Field::SMPTBLPTR, 12, 52, true}};
      f.axes = {{Field::P, {0, 1}}, {Field::FPD, {0, 1}}};
      f.expect_decode = [](const Entry& e) {
        return e.get(Field::P) ? FaultReason::None : FaultReason::PasidDirNotPresent;
      };
      f.expect_used = [fields = f.fields](const Entry& e) -> std::vector<Field> {
        if (!e.get(Field::P)) return {Field::P};
        return all_fields(fields);
      };
      s.push_back(f);
    }
    // Scalable-mode PASID entry (512 bit).
    {
      SpecFormat f{EntryKind::PasidEntry, "pasid", 8, {}, true, {}, {}, {}};
      f.fields = {{Field::P, 0, 1, false},      {Field::FPD, 1, 1, false},
                  {Field::AW, 2, 3, false},     {Field::PGTT, 6, 3, false},
                  {Field::SSADE, 9, 1, false},  {Field::SSPTPTR, 12, 52, true},
                  {Field::DID, 64, 16, false},  {Field::PWSNP, 87, 1, false},
                  {Field::PGSNP, 88, 1, false}, {Field::SRE, 128, 1, false},
                  {Field::FSPM, 130, 2, false}, {Field::WPE, 132, 1, false},
                  {Field::EAFE, 135, 1, false}, {Field::FSPTPTR, 140, 52, true}};
      f.axes = {{Field::P, {0, 1}},
                {Field::PGTT, {0, 1, 2, 3, 4, 5, 7}},
                {Field::AW, {0, 1, 2, 3, 4, 7}},
                {Field::FSPM, {0, 1, 2, 3}}};
      f.expect_decode = [](const Entry& e) {
        if (!e.get(Field::P)) return FaultReason::PasidEntryNotPresent;
        uint64_t pgtt = e.get(Field::PGTT);
        if (!in(pgtt, {1, 2, 3, 4})) return FaultReason::PasidEntryInvalid;
        bool uses_ss = in(pgtt, {2, 3, 4}), uses_fs = in(pgtt, {1, 3});
        if (uses_ss && !in(e.get(Field::AW), {1, 2, 3})) return FaultReason::PasidEntryInvalid;
        if (uses_fs && !in(e.get(Field::FSPM), {0, 1})) return FaultReason::PasidEntryInvalid;
        return FaultReason::None;
      };
      // VTD-REFERENCE.md, "Bits hardware reads".
      f.expect_used = [](const Entry& e) -> std::vector<Field> {
        const std::vector<Field> second = {Field::P,    Field::FPD,   Field::AW,
                                           Field::PGTT, Field::SSADE, Field::SSPTPTR,
                                           Field::DID,  Field::PWSNP, Field::PGSNP};
        const std::vector<Field> first = {Field::P,     Field::FPD,   Field::PGTT,   Field::DID,
                                          Field::PWSNP, Field::PGSNP, Field::SRE,    Field::FSPM,
                                          Field::WPE,   Field::EAFE,  Field::FSPTPTR};
        if (!e.get(Field::P)) return {Field::P};
        switch (e.get(Field::PGTT)) {
          case kPgttSecond:
            return second;
          case kPgttFirst:
            return first;
          case kPgttNested: {
            std::vector<Field> u = second;
            u.insert(u.end(), first.begin(), first.end());
            return u;
          }
          case kPgttPassThrough:
            return {Field::P, Field::FPD, Field::AW, Field::PGTT, Field::DID, Field::PGSNP};
          default:
            return {Field::P, Field::FPD, Field::PGTT};  // invalid PGTT
        }
      };
      s.push_back(f);
    }
    // Second-stage PTE: R 0, W 1, X 2, PS 7, ADDR 51:12. No reserved bits modelled.
    {
      SpecFormat f{EntryKind::SsPte, "ss_pte", 1, {}, false, {}, {}, {}};
      f.fields = {{Field::R, 0, 1, false},
                  {Field::W, 1, 1, false},
                  {Field::X, 2, 1, false},
                  {Field::PS, 7, 1, false},
                  {Field::ADDR, 12, 40, true}};
      f.axes = {{Field::R, {0, 1}}, {Field::W, {0, 1}}, {Field::PS, {0, 1}}};
      f.expect_decode = [](const Entry& e) {
        return e.get(Field::R) || e.get(Field::W) ? FaultReason::None : FaultReason::PteNotPresent;
      };
      f.expect_used = [fields = f.fields](const Entry& e) -> std::vector<Field> {
        if (!e.get(Field::R) && !e.get(Field::W)) return {Field::R, Field::W};
        return all_fields(fields);
      };
      s.push_back(f);
    }
    // First-stage (IA-32e) PTE.
    {
      SpecFormat f{EntryKind::FsPte, "fs_pte", 1, {}, false, {}, {}, {}};
      f.fields = {{Field::P, 0, 1, false},   {Field::RW, 1, 1, false},  {Field::US, 2, 1, false},
                  {Field::PWT, 3, 1, false}, {Field::PCD, 4, 1, false}, {Field::A, 5, 1, false},
                  {Field::D, 6, 1, false},   {Field::PS, 7, 1, false},  {Field::ADDR, 12, 40, true},
                  {Field::XD, 63, 1, false}};
      f.axes = {{Field::P, {0, 1}}, {Field::RW, {0, 1}}, {Field::PS, {0, 1}}, {Field::XD, {0, 1}}};
      f.expect_decode = [](const Entry& e) {
        return e.get(Field::P) ? FaultReason::None : FaultReason::PteNotPresent;
      };
      f.expect_used = [fields = f.fields](const Entry& e) -> std::vector<Field> {
        if (!e.get(Field::P)) return {Field::P};
        return all_fields(fields);
      };
      s.push_back(f);
    }
    return s;
  }();
  return kSpec;
}

const SpecFormat& spec_of(EntryKind k) {
  for (const SpecFormat& f : spec())
    if (f.kind == k) return f;
  return spec().front();
}

// Raw mask of all fields, from the spec table.
Entry spec_mask(const SpecFormat& f) {
  Entry m(f.kind);
  for (const SpecField& d : f.fields)
    for (unsigned b = d.lsb; b < d.lsb + d.width; ++b) m.w[b / 64] |= 1ull << (b % 64);
  return m;
}

Entry spec_mask_of(const SpecFormat& f, const std::vector<Field>& which) {
  Entry m(f.kind);
  for (Field x : which) {
    Entry one = Entry(f.kind);
    for (const SpecField& d : f.fields)
      if (d.field == x)
        for (unsigned b = d.lsb; b < d.lsb + d.width; ++b) one.w[b / 64] |= 1ull << (b % 64);
    for (size_t i = 0; i < kMaxWords; ++i) m.w[i] |= one.w[i];
  }
  return m;
}

// Reserved bits per the spec table: everything outside the fields (within
// the entry's words) when the format reserves the rest.
Entry spec_reserved(const SpecFormat& f) {
  Entry r(f.kind);
  if (!f.rest_reserved) return r;
  Entry used = spec_mask(f);
  for (unsigned i = 0; i < f.words; ++i) r.w[i] = ~used.w[i];
  return r;
}

uint64_t field_max(const SpecField& d) {
  uint64_t ones = d.width >= 64 ? ~0ull : (1ull << d.width) - 1;
  return d.addr ? ones << (d.lsb % 64) : ones;
}

// A recognisable non-zero value for every field (addresses page aligned).
uint64_t pattern_value(const SpecField& d, unsigned salt) {
  if (d.addr) return (0x0000000badc0f000ull + (uint64_t(salt) << 20)) & field_max(d);
  uint64_t v = 0x5a5a5a5a5a5a5a5aull >> (salt % 3);
  v &= field_max(d);
  return v ? v : 1;
}

std::string hex(const Entry& e) {
  return e.hex();
}

std::vector<Entry> matrix_of(const SpecFormat& f) {
  Entry base(f.kind);
  unsigned salt = 0;
  for (const SpecField& d : f.fields) base.set(d.field, pattern_value(d, salt++));
  std::vector<Entry> out = {base};
  for (const auto& [field, values] : f.axes) {
    std::vector<Entry> next;
    for (const Entry& e : out)
      for (uint64_t v : values) {
        Entry x = e;
        x.set(field, v);
        next.push_back(x);
      }
    out = std::move(next);
  }
  // The all-zero entry and the all-fields-ones entry belong to every matrix.
  out.push_back(Entry(f.kind));
  Entry ones(f.kind);
  for (const SpecField& d : f.fields) ones.set(d.field, field_max(d));
  out.push_back(ones);
  return out;
}

class FormatSpec : public ::testing::TestWithParam<EntryKind> {
 protected:
  const SpecFormat& f() const { return spec_of(GetParam()); }
};

std::string kind_param_name(const ::testing::TestParamInfo<EntryKind>& i) {
  return spec_of(i.param).name;
}

TEST_P(FormatSpec, FormatTable_WordCountAndFieldSetMatchSpec) {
  const Format& fmt = format_of(f().kind);
  EXPECT_EQ(fmt.kind, f().kind);
  EXPECT_EQ(fmt.words, f().words);
  EXPECT_EQ(fmt.fields.size(), f().fields.size());
  Entry e(f().kind);
  for (size_t x = 0; x < size_t(Field::kCount); ++x) {
    Field fld = Field(x);
    bool in_spec = false;
    for (const SpecField& d : f().fields) in_spec |= d.field == fld;
    EXPECT_EQ(e.has(fld), in_spec) << field_name(fld);
  }
}

// Every field lands exactly on its spec bits, reads back truncated to its
// width, and leaves every other field alone.
TEST_P(FormatSpec, Encode_EachFieldSitsOnItsSpecBitsAndRoundTrips) {
  const SpecFormat& s = f();
  for (const SpecField& d : s.fields) {
    SCOPED_TRACE(field_name(d.field));
    Entry e(s.kind);
    e.set(d.field, ~0ull);
    Entry want(s.kind);
    for (unsigned b = d.lsb; b < d.lsb + d.width; ++b) want.w[b / 64] |= 1ull << (b % 64);
    EXPECT_EQ(hex(e), hex(want));
    EXPECT_EQ(e.get(d.field), field_max(d));

    for (uint64_t v : {uint64_t(0), uint64_t(1), pattern_value(d, 1), field_max(d),
                       field_max(d) + 1, uint64_t(0xfedcba9876543210ull)}) {
      Entry x(s.kind);
      // Other fields all ones: setting this one must not disturb them.
      for (const SpecField& o : s.fields)
        if (o.field != d.field) x.set(o.field, field_max(o));
      x.set(d.field, v);
      EXPECT_EQ(x.get(d.field), v & field_max(d)) << std::hex << v;
      for (const SpecField& o : s.fields)
        if (o.field != d.field) EXPECT_EQ(x.get(o.field), field_max(o)) << field_name(o.field);
      // Raw words survive entry_from_words.
      Entry y = entry_from_words(s.kind, std::span<const uint64_t>(x.w.data(), s.words));
      EXPECT_EQ(y, x);
    }
  }
  // A field the format does not have reads as zero and is not stored.
  Entry e(s.kind);
  for (size_t x = 0; x < size_t(Field::kCount); ++x) {
    if (e.has(Field(x))) continue;
    e.set(Field(x), ~0ull);
    EXPECT_EQ(e.get(Field(x)), 0u) << field_name(Field(x));
  }
  EXPECT_EQ(e, Entry(s.kind));
}

TEST_P(FormatSpec, Decode_ReasonFollowsSpecOverModeMatrix) {
  const SpecFormat& s = f();
  for (const Entry& e : matrix_of(s)) {
    EXPECT_EQ(decode(e), s.expect_decode(e)) << e.str() << " / " << e.hex();
  }
}

TEST_P(FormatSpec, Decode_ReservedBitRaisesReservedOnlyWhenPresent) {
  const SpecFormat& s = f();
  const Entry rsvd = spec_reserved(s);
  // Reserved bits as the format table declares them must be the spec's.
  const Format& fmt = format_of(s.kind);
  for (unsigned i = 0; i < s.words; ++i) EXPECT_EQ(fmt.reserved[i], rsvd.w[i]) << "word " << i;
  size_t checked = 0;
  for (const Entry& e : matrix_of(s)) {
    FaultReason clean = s.expect_decode(e);
    for (unsigned b = 0; b < 64 * s.words; ++b) {
      if (!(rsvd.w[b / 64] >> (b % 64) & 1)) continue;
      Entry x = e;
      x.w[b / 64] |= 1ull << (b % 64);
      FaultReason want = clean;
      // Not-present wins over reserved; a present entry with a reserved bit
      // set is a Reserved fault whatever its mode.
      bool present = x.present();
      if (present) {
        switch (s.kind) {
          case EntryKind::LegacyRoot:
          case EntryKind::ScalableRoot:
            want = FaultReason::RootReserved;
            break;
          case EntryKind::LegacyContext:
          case EntryKind::ScalableContext:
            want = FaultReason::ContextReserved;
            break;
          case EntryKind::PasidDir:
            want = FaultReason::PasidDirReserved;
            break;
          case EntryKind::PasidEntry:
            want = FaultReason::PasidEntryReserved;
            break;
          default:
            break;
        }
      }
      ASSERT_EQ(decode(x), want) << "bit " << b << " of " << e.str();
      ++checked;
    }
  }
  if (s.rest_reserved) EXPECT_GT(checked, 0u);
}

TEST_P(FormatSpec, UsedBits_MatchSpecTableOverModeMatrix) {
  const SpecFormat& s = f();
  for (const Entry& e : matrix_of(s)) {
    Entry want = spec_mask_of(s, s.expect_used(e));
    EXPECT_EQ(hex(used_bits(e)), hex(want)) << e.str();
    EXPECT_EQ(config_of(e), e & want);
  }
}

// Hardware acts on used bits only: flipping any bit outside them changes
// neither the mode (used bits), the configuration nor the decode verdict.
TEST_P(FormatSpec, UsedBits_FlippingUnusedBitsChangesNothingHardwareSees) {
  const SpecFormat& s = f();
  const Entry rsvd = spec_reserved(s);
  for (const Entry& e : matrix_of(s)) {
    const Entry used = used_bits(e);
    for (unsigned i = 0; i < s.words; ++i) EXPECT_EQ(used.w[i] & rsvd.w[i], 0u);
    for (unsigned b = 0; b < 64 * s.words; ++b) {
      uint64_t bit = 1ull << (b % 64);
      if ((used.w[b / 64] | rsvd.w[b / 64]) & bit) continue;
      Entry x = e;
      x.w[b / 64] ^= bit;
      ASSERT_EQ(used_bits(x), used) << "bit " << b << " of " << e.str();
      ASSERT_EQ(config_of(x), config_of(e)) << "bit " << b;
      ASSERT_EQ(decode(x), decode(e)) << "bit " << b;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, FormatSpec,
                         ::testing::Values(EntryKind::LegacyRoot, EntryKind::ScalableRoot,
                                           EntryKind::LegacyContext, EntryKind::ScalableContext,
                                           EntryKind::PasidDir, EntryKind::PasidEntry,
                                           EntryKind::SsPte, EntryKind::FsPte),
                         kind_param_name);

// ----------------------------------------------------------- used-bits rows
// The rows of VTD-REFERENCE.md "Bits hardware reads", spelled as rules.

TEST(PasidEntryUsedBits, SecondStage_FsptptrNotUsed) {
  Entry e = encode(PasidEntryFields{.pgtt = kPgttSecond, .ssptptr = 0x5000, .fsptptr = 0x9000});
  EXPECT_EQ(used_bits(e).get(Field::FSPTPTR), 0u);
  EXPECT_NE(used_bits(e).get(Field::SSPTPTR), 0u);
  EXPECT_EQ(config_of(e).get(Field::FSPTPTR), 0u);
}

TEST(PasidEntryUsedBits, PassThrough_NeitherTablePointerUsed) {
  Entry e = encode(
      PasidEntryFields{.pgtt = kPgttPassThrough, .ssptptr = 0x5000, .fsptptr = 0x9000, .did = 3});
  EXPECT_EQ(used_bits(e).get(Field::SSPTPTR), 0u);
  EXPECT_EQ(used_bits(e).get(Field::FSPTPTR), 0u);
  EXPECT_EQ(config_of(e).get(Field::DID), 3u);
}

TEST(PasidEntryUsedBits, NotPresent_OnlyP) {
  Entry e = encode(PasidEntryFields{
      .p = false, .pgtt = kPgttNested, .ssptptr = 0x5000, .fsptptr = 0x9000, .did = 3});
  Entry only_p(EntryKind::PasidEntry);
  only_p.set(Field::P, 1);
  EXPECT_EQ(used_bits(e), only_p);
  EXPECT_EQ(config_of(e), Entry(EntryKind::PasidEntry));
}

TEST(PasidEntryUsedBits, FirstStage_SsptptrAndAwNotUsed) {
  Entry e = encode(PasidEntryFields{.pgtt = kPgttFirst, .aw = 7, .ssptptr = 0x5000});
  EXPECT_EQ(used_bits(e).get(Field::SSPTPTR), 0u);
  EXPECT_EQ(used_bits(e).get(Field::AW), 0u);
  EXPECT_EQ(decode(e), FaultReason::None);  // AW=7 is invalid but not read
}

TEST(LegacyContextUsedBits, PassThrough_SsptptrNotUsed) {
  Entry e = encode(LegacyContextFields{.tt = kTtPassThrough, .ssptptr = 0x5000, .did = 9});
  EXPECT_EQ(used_bits(e).get(Field::SSPTPTR), 0u);
  EXPECT_NE(used_bits(e).get(Field::DID), 0u);
}

// The first-stage fields live in chunk 1 and the DID in chunk 0
// (seeds/001): what makes a DID-changing first-stage replace a two-chunk
// change.
TEST(PasidEntryLayout, DidInChunk0AndFsptptrInChunk1) {
  Entry a = encode(PasidEntryFields{.pgtt = kPgttFirst, .fsptptr = 0x5000, .did = 3});
  Entry b = a;
  b.set(Field::FSPTPTR, 0x9000);
  EXPECT_EQ(a.w[0], b.w[0]);
  EXPECT_EQ(a.w[1], b.w[1]);
  EXPECT_NE(a.w[2], b.w[2]);
  Entry c = a;
  c.set(Field::DID, 4);
  EXPECT_NE(a.w[1], c.w[1]);
  EXPECT_EQ(a.w[2], c.w[2]);
}

// ------------------------------------------------- encode helper round trips

TEST(EncodeHelpers, LegacyContext_RoundTripsOverTtAwMatrix) {
  for (uint8_t tt = 0; tt < 4; ++tt)
    for (uint8_t aw = 0; aw < 8; ++aw)
      for (bool p : {false, true})
        for (bool fpd : {false, true}) {
          LegacyContextFields f{.p = p,
                                .fpd = fpd,
                                .tt = tt,
                                .aw = aw,
                                .ssptptr = 0x1234000 + (uint64_t(tt) << 12),
                                .did = uint16_t(0xa000 + aw)};
          Entry e = encode(f);
          EXPECT_EQ(e.kind, EntryKind::LegacyContext);
          EXPECT_EQ(e.get(Field::P), p);
          EXPECT_EQ(e.get(Field::FPD), fpd);
          EXPECT_EQ(e.get(Field::TT), tt);
          EXPECT_EQ(e.get(Field::AW), aw);
          EXPECT_EQ(e.get(Field::SSPTPTR), f.ssptptr);
          EXPECT_EQ(e.get(Field::DID), f.did);
          FaultReason want = !p                            ? FaultReason::ContextNotPresent
                             : tt == 3 || aw < 1 || aw > 3 ? FaultReason::ContextInvalid
                                                           : FaultReason::None;
          EXPECT_EQ(decode(e), want) << e.str();
        }
}

TEST(EncodeHelpers, PasidEntry_RoundTripsOverPgttAwFspmMatrix) {
  for (uint8_t pgtt = 0; pgtt < 8; ++pgtt)
    for (uint8_t aw = 0; aw < 8; ++aw)
      for (uint8_t fspm = 0; fspm < 4; ++fspm) {
        PasidEntryFields f{.pgtt = pgtt,
                           .aw = aw,
                           .ssptptr = 0x77000,
                           .fsptptr = 0xfff000000ull,
                           .did = uint16_t(0x100 + pgtt),
                           .ssade = true,
                           .pwsnp = true,
                           .pgsnp = false,
                           .sre = true,
                           .wpe = false,
                           .eafe = true,
                           .fspm = fspm};
        Entry e = encode(f);
        EXPECT_TRUE(e.present());
        EXPECT_EQ(e.get(Field::PGTT), pgtt);
        EXPECT_EQ(e.get(Field::AW), aw);
        EXPECT_EQ(e.get(Field::FSPM), fspm);
        EXPECT_EQ(e.get(Field::SSPTPTR), 0x77000u);
        EXPECT_EQ(e.get(Field::FSPTPTR), 0xfff000000ull);
        EXPECT_EQ(e.get(Field::DID), f.did);
        EXPECT_EQ(e.get(Field::SSADE), 1u);
        EXPECT_EQ(e.get(Field::PWSNP), 1u);
        EXPECT_EQ(e.get(Field::PGSNP), 0u);
        EXPECT_EQ(e.get(Field::SRE), 1u);
        EXPECT_EQ(e.get(Field::WPE), 0u);
        EXPECT_EQ(e.get(Field::EAFE), 1u);
        EXPECT_EQ(decode(e), spec_of(EntryKind::PasidEntry).expect_decode(e)) << e.str();
      }
}

TEST(EncodeHelpers, ScalableContext_RoundTripsOverPdtsMatrix) {
  for (uint8_t pdts = 0; pdts < 8; ++pdts)
    for (bool paside : {false, true})
      for (bool dte : {false, true}) {
        ScalableContextFields f{.dte = dte,
                                .paside = paside,
                                .pdts = pdts,
                                .pasiddirptr = 0xabc000,
                                .rid_pasid = 0xfffff,
                                .rid_priv = true};
        Entry e = encode(f);
        EXPECT_EQ(e.get(Field::PDTS), pdts);
        EXPECT_EQ(e.get(Field::PASIDE), paside);
        EXPECT_EQ(e.get(Field::DTE), dte);
        EXPECT_EQ(e.get(Field::PASIDDIRPTR), 0xabc000u);
        EXPECT_EQ(e.get(Field::RID_PASID), 0xfffffu);
        EXPECT_EQ(e.get(Field::RID_PRIV), 1u);
        EXPECT_EQ(e.w[2], 0u);
        EXPECT_EQ(e.w[3], 0u);
        EXPECT_EQ(decode(e), FaultReason::None);
      }
}

// --------------------------------------------------------------- paging modes

TEST(PagingModes, AwSelectsLevelsAndWidth) {
  const PagingMode want[] = {{0, 0}, {3, 39}, {4, 48}, {5, 57}};
  for (uint8_t aw = 0; aw < 8; ++aw) {
    PagingMode m{0, 0};
    bool ok = ss_mode_for_aw(aw, &m);
    EXPECT_EQ(ok, aw >= 1 && aw <= 3) << int(aw);
    if (ok) {
      EXPECT_EQ(m.levels, want[aw].levels);
      EXPECT_EQ(m.input_bits, want[aw].input_bits);
      EXPECT_EQ(m.input_bits, 12 + 9 * m.levels);
    }
  }
}

TEST(PagingModes, FspmSelectsLevelsAndWidth) {
  for (uint8_t fspm = 0; fspm < 4; ++fspm) {
    PagingMode m{0, 0};
    bool ok = fs_mode_for_fspm(fspm, &m);
    EXPECT_EQ(ok, fspm <= 1);
    if (ok) {
      EXPECT_EQ(m.levels, fspm == 0 ? 4 : 5);
      EXPECT_EQ(m.input_bits, 12 + 9 * m.levels);
    }
  }
}

TEST(PagingModes, LevelIndexAndSpan) {
  const Iova iova = (0x1ull << 48) | (0x1a3ull << 39) | (0x0f5ull << 30) | (0x111ull << 21) |
                    (0x0ffull << 12) | 0x123;
  EXPECT_EQ(level_index(iova, 1), 0x0ffu);
  EXPECT_EQ(level_index(iova, 2), 0x111u);
  EXPECT_EQ(level_index(iova, 3), 0x0f5u);
  EXPECT_EQ(level_index(iova, 4), 0x1a3u);
  EXPECT_EQ(level_index(iova, 5), 0x1u);
  EXPECT_EQ(level_span(1), 4096u);
  EXPECT_EQ(level_span(2), 2ull << 20);
  EXPECT_EQ(level_span(3), 1ull << 30);
}

TEST(EntryText, StrNamesFieldsAsTheSpecSpellsThem) {
  Entry e = encode(PasidEntryFields{.pgtt = kPgttSecond, .ssptptr = 0x1000, .did = 5});
  std::string s = e.str();
  EXPECT_NE(s.find("P=1"), std::string::npos) << s;
  EXPECT_NE(s.find("PGTT=2"), std::string::npos) << s;
  EXPECT_NE(s.find("DID=5"), std::string::npos) << s;
  EXPECT_NE(s.find("SSPTPTR=0x1000"), std::string::npos) << s;
  e.w[5] = 1;
  EXPECT_NE(e.str().find("rsvd5=0x1"), std::string::npos) << e.str();
  EXPECT_EQ(Entry(EntryKind::SsPte).str(), "0");
  for (size_t k = 0; k < size_t(EntryKind::kCount); ++k)
    EXPECT_NE(std::string(entry_kind_name(EntryKind(k))), "");
}

}  // namespace
}  // namespace vtd::sim

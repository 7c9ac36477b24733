// Translation-structure formats: root, context, PASID directory, PASID entry
// and page-table entries, described as tables of fields (VTD-REFERENCE.md).
// One generic Entry value, one encode/decode and one used_bits per format.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "simulator/types.h"

namespace vtd::sim {

enum class EntryKind : uint8_t {
  LegacyRoot,
  ScalableRoot,
  LegacyContext,
  ScalableContext,
  PasidDir,
  PasidEntry,
  SsPte,
  FsPte,
  kCount,
};
const char* entry_kind_name(EntryKind k);

// Field names as the spec spells them.
enum class Field : uint8_t {
  // root
  P,
  CTP,
  LP,
  LCTP,
  UP,
  UCTP,
  // legacy context
  FPD,
  TT,
  SSPTPTR,
  AW,
  DID,
  // scalable context
  DTE,
  PASIDE,
  PRE,
  PDTS,
  PASIDDIRPTR,
  RID_PASID,
  RID_PRIV,
  // PASID directory
  SMPTBLPTR,
  // PASID entry
  PGTT,
  SSADE,
  PWSNP,
  PGSNP,
  SRE,
  FSPM,
  WPE,
  EAFE,
  FSPTPTR,
  // second-stage PTE
  R,
  W,
  X,
  PS,
  ADDR,
  // first-stage PTE
  RW,
  US,
  PWT,
  PCD,
  A,
  D,
  XD,
  kCount,
};
const char* field_name(Field f);

// A field: bits [lsb, lsb+width) of the whole entry (bit 64*i + b is bit b of
// word i). Address fields keep their in-place value (the field is not
// shifted down) so that get() returns a physical address.
struct FieldDef {
  Field field;
  uint16_t lsb;
  uint8_t width;
  bool addr;
};

struct Format {
  EntryKind kind;
  const char* name;
  uint8_t words;        // 64-bit words in memory
  uint8_t fetch_words;  // words the hardware reads (scalable context: low 128 bits)
  std::span<const FieldDef> fields;
  std::array<uint64_t, 8> reserved;  // bits that must be zero when present
};
const Format& format_of(EntryKind k);

constexpr size_t kMaxWords = 8;

// PGTT values (PASID entry) and TT values (legacy context entry).
enum Pgtt : uint8_t { kPgttFirst = 1, kPgttSecond = 2, kPgttNested = 3, kPgttPassThrough = 4 };
enum Tt : uint8_t { kTtTranslate = 0, kTtDevTlb = 1, kTtPassThrough = 2 };

struct Entry {
  EntryKind kind = EntryKind::LegacyContext;
  std::array<uint64_t, kMaxWords> w{};

  Entry() = default;
  explicit Entry(EntryKind k) : kind(k) {}

  uint8_t words() const { return format_of(kind).words; }
  bool has(Field f) const;
  uint64_t get(Field f) const;          // 0 when the format has no such field
  Entry& set(Field f, uint64_t value);  // value truncated to the field
  bool present() const;                 // P (or LP|UP for the scalable root)

  Entry operator&(const Entry& mask) const;
  bool operator==(const Entry& o) const { return kind == o.kind && w == o.w; }

  // "P=1 PGTT=2 DID=5 SSPTPTR=0x1000" — every non-zero field, spec names.
  std::string str() const;
  std::string hex() const;  // raw words, "w0 w1 ..."
};

// Bits the hardware reads given the entry's own mode (VTD-REFERENCE.md,
// "Bits hardware reads"). Reserved bits are never "used".
Entry used_bits(const Entry& e);

// The configuration an entry selects: its value under its own used bits.
inline Entry config_of(const Entry& e) {
  return e & used_bits(e);
}

// Decode: None when present and well-formed; the NotPresent reason when P=0;
// a Reserved/Invalid reason otherwise. The decoded value is the Entry itself
// read through get(); config_of() gives the part hardware acts on.
FaultReason decode(const Entry& e);

// Encode helpers for the common shapes (the encoder is Entry::set; these
// only gather the fields so tests and writers share one spelling).
struct LegacyContextFields {
  bool p = true, fpd = false;
  uint8_t tt = kTtTranslate, aw = 2;
  PhysAddr ssptptr = 0;
  uint16_t did = 0;
};
Entry encode(const LegacyContextFields& f);

struct PasidEntryFields {
  bool p = true, fpd = false;
  uint8_t pgtt = kPgttSecond, aw = 2;
  PhysAddr ssptptr = 0, fsptptr = 0;
  uint16_t did = 0;
  bool ssade = false, pwsnp = false, pgsnp = false, sre = false, wpe = false, eafe = false;
  uint8_t fspm = 0;
};
Entry encode(const PasidEntryFields& f);

struct ScalableContextFields {
  bool p = true, fpd = false, dte = false, paside = true, pre = false;
  uint8_t pdts = 0;  // directory has 2^(pdts+7) entries
  PhysAddr pasiddirptr = 0;
  uint32_t rid_pasid = 0;
  bool rid_priv = false;
};
Entry encode(const ScalableContextFields& f);

// Address width encodings (AW / FSPM) as data: levels and input bits.
struct PagingMode {
  uint8_t levels;
  uint8_t input_bits;
};
// Second-stage AW field -> mode (AW=1: 3-level 39-bit, 2: 4-level 48-bit, 3: 5-level 57-bit).
bool ss_mode_for_aw(uint8_t aw, PagingMode* out);
// First-stage FSPM field -> mode (0: 4-level 48-bit, 1: 5-level 57-bit).
bool fs_mode_for_fspm(uint8_t fspm, PagingMode* out);

// Index of the table entry for `iova` at `level` (1 = leaf table).
inline uint32_t level_index(Iova iova, int level) {
  return uint32_t(iova >> (kPageShift + 9 * (level - 1)) & 0x1ff);
}
inline uint64_t level_span(int level) {
  return kPageSize << (9 * (level - 1));
}

// An entry from raw words (tests, reference reads of memory).
Entry entry_from_words(EntryKind k, std::span<const uint64_t> words);

}  // namespace vtd::sim

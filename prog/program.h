// Programs: what the ops target runs (DESIGN.md section 8). One table of op
// specs drives both forms:
//  - binary: a versioned header (version, flags, setup, writer), then ops;
//    every byte string decodes (values wrap into range, missing bytes read
//    as zero); the setup byte expands into ops that populate the machine;
//  - text: one op per line, schedule points indented under their op
//    (`@store N: <step>`, `@wait N: <step>`, `@choices a b c`).
// decode(encode(p)) == p, parse(to_text(p)) == p, and for any bytes b,
// encode(decode(b)) is b's canonical form.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "prog/ops.h"
#include "simulator/config.h"
#include "simulator/schedule.h"
#include "simulator/types.h"

namespace vtd::prog {

struct Op;

struct SchedPoint {
  sim::PointKind kind = sim::PointKind::Store;  // Store or Wait
  uint32_t index = 1;                           // 1-based, per kind, within the op
  std::vector<Op> step;                         // exactly one op (a hardware step or cpu2)
  bool operator==(const SchedPoint&) const;
};

struct Op {
  OpKind kind = OpKind::Domain;
  std::array<uint64_t, size_t(Arg::kCount)> a{};
  std::vector<SchedPoint> sched;  // top-level ops only
  std::vector<uint32_t> choices;  // schedule choices consumed in order (store delays, chunk orders)
  std::vector<Op> sub;            // cpu2: the op
  uint64_t get(Arg x) const { return a[size_t(x)]; }
  Op& set(Arg x, uint64_t v) {
    a[size_t(x)] = v;
    return *this;
  }
  bool operator==(const Op&) const;
};

struct Program {
  std::string writer;  // [a-z0-9-]*, may be empty
  std::string lu;      // the live-update flow (DESIGN.md section 12); empty: none named
  std::string viommu;  // the vIOMMU propagator (section 13); empty: none named
  sim::Config config;
  std::vector<Op> ops;
  bool operator==(const Program&) const = default;
};

// 2: the setup byte after the flags. 3: the live-update flow and vIOMMU
// propagator names after the writer's, and op kinds after cpu2 (every
// version-2 input decodes as it always did).
constexpr uint8_t kVersion = 3;
// The setup byte is stored XOR this, so that zero bytes, where the engines
// start, set up two devices sharing a first-stage domain's DID and a second
// first-stage domain to move to (the machine of seeds/001).
constexpr uint8_t kDefaultSetup = 0x4a;
// Header flags bit (version 3): the setup also preserves its first domain
// and device for a live update (binary.cc).
constexpr uint8_t kLiveUpdateSetup = 0x20;
// Per-op limits, in both forms.
constexpr size_t kMaxSched = 8, kMaxChoices = 15;
constexpr uint32_t kMaxPointIndex = 64;
constexpr uint64_t kNoPasidArg = 0;  // Arg::Pasid value meaning "no PASID"; PASID p is p + 1

// Binary form.
Program decode(std::span<const uint8_t> bytes);
// The same into `out`, whose storage is reused: a fuzz target decodes every
// input into one Program (its ops were one allocation of up to 80 KiB per
// input, fresh pages under ASan's quarantine: issue 16).
void decode(std::span<const uint8_t> bytes, Program* out);
std::vector<uint8_t> encode(const Program& p);
// Where the header ends (past the size when the bytes stop inside it) and
// each record starts (ascending, each below the size), as decode() reads
// them: the units a structure-aware mutator inserts, erases and copies.
struct Layout {
  size_t header_end = 0;
  std::vector<size_t> records;
};
// `guest`: as decode_guest() reads them.
Layout layout(std::span<const uint8_t> bytes, bool guest = false);
// The twolevel target's reading of the same bytes (DESIGN.md section 13):
// a guest over a vIOMMU. The setup byte assigns devices and gives the
// guest domains and attachments; every iommu-core call reads as the
// guest's (g.domain, g.attach, ...; probe as assign), hardware steps stay
// the host's. The program names `propagator`; encode() writes it in the
// ordinary form, which decode() reads back the same.
Program decode_guest(std::span<const uint8_t> bytes, const std::string& propagator);
void decode_guest(std::span<const uint8_t> bytes, const std::string& propagator, Program* out);

// Text form. parse() returns false with a one-line error on bad text.
std::string to_text(const Program& p);
std::string op_text(const Op& op);  // one line, no schedule points
bool parse(std::string_view text, Program* out, std::string* error);
// Text or binary: text when the bytes start as a program text does (a
// comment, `writer` or `config`) and hold no control byte but white space;
// anything else decodes as the fuzz targets decode it.
bool load(std::span<const uint8_t> bytes, Program* out, std::string* error);

// A libFuzzer/AFL++ dictionary for the binary form, generated from the op
// table: every op with default arguments, typical schedule points, headers.
// tokens() is the same list as data: a record token goes between records, a
// header token replaces the first four bytes.
struct Token {
  std::string name;
  std::vector<uint8_t> bytes;
  bool header = false;
};
std::vector<Token> tokens();
std::string dictionary();

// Helpers shared with the harness.
uint64_t size_of(const Op& op);  // Arg::Size decoded (4 KiB, 2 MiB, 1 GiB)
std::string config_text(const sim::Config& c);

}  // namespace vtd::prog

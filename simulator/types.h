// Basic value types shared by every hardware block of the VT-d model.
#pragma once

#include <cstdint>
#include <string>

namespace vtd::sim {

using PhysAddr = uint64_t;
using Iova = uint64_t;

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kPageShift = 12;
constexpr uint64_t kLineSize = 64;  // CPU cache line: the unit of clflush / eviction
constexpr uint32_t kNoPasid = 0xffffffffu;

constexpr PhysAddr page_of(PhysAddr pa) {
  return pa & ~(kPageSize - 1);
}

// PCI requester id: bus[15:8] dev[7:3] fn[2:0] (spec 3.4.1, "source-id").
struct Sid {
  uint16_t v = 0;
  constexpr Sid() = default;
  constexpr explicit Sid(uint16_t raw) : v(raw) {}
  constexpr Sid(uint8_t bus, uint8_t dev, uint8_t fn)
      : v(uint16_t(bus << 8 | (dev & 0x1f) << 3 | (fn & 7))) {}
  constexpr uint8_t bus() const { return uint8_t(v >> 8); }
  constexpr uint8_t devfn() const { return uint8_t(v); }
  constexpr uint8_t dev() const { return uint8_t(v >> 3 & 0x1f); }
  constexpr uint8_t fn() const { return uint8_t(v & 7); }
  constexpr bool operator==(const Sid&) const = default;
  constexpr auto operator<=>(const Sid&) const = default;
  std::string str() const;  // "00:02.0"
};

enum class Access : uint8_t { Read, Write };

// Every physical page carries a type so that a hardware read of a freed page
// or of the wrong structure is detectable (DESIGN.md section 4, "Memory").
enum class PageType : uint8_t {
  Free,
  Root,
  Context,
  PasidDir,
  PasidTable,
  PageTable,
  Queue,
  Data,
  Kho,  // a live-update handover page (DESIGN.md section 12): CPU data, never a table
};
const char* page_type_name(PageType t);

// The one spelling of numbers in reports and traces: "0x1000".
std::string hex(uint64_t v);
// A PASID in reports: the number, or "-" for a request without PASID.
std::string pasid_str(uint32_t pasid);

// Translation fault reasons. Names follow the spirit of the spec's
// fault-reason table (chapter 7); the model does not need their numeric codes.
enum class FaultReason : uint8_t {
  None,
  RootNotPresent,
  RootReserved,
  ContextNotPresent,
  ContextReserved,
  ContextInvalid,  // bad TT / AW
  PasidDisabled,   // request with PASID but the context entry has PASIDE=0
  PasidOutOfRange,
  PasidDirNotPresent,
  PasidDirReserved,
  PasidEntryNotPresent,
  PasidEntryReserved,
  PasidEntryInvalid,  // bad PGTT / AW / FSPM
  PteNotPresent,
  PteReserved,
  WriteDenied,
  AddressBeyondWidth,
  DeviceAbsent,  // the requester was surprise-removed
  kCount,
};
const char* fault_reason_name(FaultReason r);

}  // namespace vtd::sim

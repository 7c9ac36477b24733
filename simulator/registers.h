// The remapping-unit registers the model implements (spec chapter 11), with
// the bit positions the driver and the hardware agree on.
#pragma once

#include <cstdint>

namespace vtd::sim {

enum class Reg : uint8_t { CAP, ECAP, RTADDR, FSTS, IQA, IQH, IQT, GCMD, GSTS };

namespace cap {
constexpr uint64_t CM = 1ull << 7;         // caching mode: not-present entries may be cached
constexpr uint64_t SAGAW_39 = 1ull << 9;   // SAGAW bit 1: 3-level
constexpr uint64_t SAGAW_48 = 1ull << 10;  // SAGAW bit 2: 4-level
constexpr uint64_t SAGAW_57 = 1ull << 11;  // SAGAW bit 3: 5-level
constexpr uint64_t FS5LP = 1ull << 60;     // first-stage 5-level paging
// Model only, not a VT-d bit: the remapping unit fetches translation
// structures 64 bits at a time instead of the spec's 128. A driver must
// then not count on a 128-bit store being seen whole (as the ARM driver's
// entry_set sizes its steps by the hardware's 64-bit granule).
constexpr uint64_t MODEL_FETCH64 = 1ull << 62;
}  // namespace cap

namespace ecap {
constexpr uint64_t C = 1ull << 0;      // page-walk coherency
constexpr uint64_t QI = 1ull << 1;     // queued invalidation
constexpr uint64_t DT = 1ull << 2;     // device-TLB
constexpr uint64_t PT = 1ull << 6;     // pass-through
constexpr uint64_t NEST = 1ull << 26;  // nested translation
constexpr uint64_t SRS = 1ull << 31;   // supervisor requests (a stage-1 SRE needs it)
constexpr uint64_t EAFS = 1ull << 34;  // extended accessed flag (a stage-1 EAFE needs it)
constexpr uint64_t PASID = 1ull << 40;
constexpr uint64_t SMTS = 1ull << 43;  // scalable-mode translation
constexpr uint64_t SSTS = 1ull << 46;
constexpr uint64_t FLTS = 1ull << 47;
}  // namespace ecap

namespace rtaddr {
constexpr uint64_t TTM_SCALABLE = 1ull << 10;  // TTM 11:10 = 01b
}

// Global command and status (spec 11.4.4, 11.4.5). GCMD is write-only:
// every write states TE and QIE (software keeps a shadow of them, as Linux's
// iommu->gcmd) and may ask for one-shot SRTP; GSTS reflects the result. The
// model completes a command at once, so GSTS is current when the write
// returns.
namespace gcmd {
constexpr uint64_t TE = 1ull << 31;    // translation enable
constexpr uint64_t SRTP = 1ull << 30;  // set root table pointer: latch RTADDR
constexpr uint64_t QIE = 1ull << 26;   // queued invalidation enable
}  // namespace gcmd
namespace gsts {
constexpr uint64_t TES = 1ull << 31;   // translation enabled: DMA is remapped
constexpr uint64_t RTPS = 1ull << 30;  // root table pointer latched
constexpr uint64_t QIES = 1ull << 26;  // the invalidation queue is processed
}  // namespace gsts

namespace fsts {
constexpr uint64_t IQE = 1ull << 4;
constexpr uint64_t ICE = 1ull << 5;
constexpr uint64_t ITE = 1ull << 6;
}  // namespace fsts

namespace iqa {
constexpr uint64_t DW = 1ull << 11;  // 256-bit descriptors
}

// Register access from the CPU side. The remapping unit implements it.
class Mmio {
 public:
  virtual ~Mmio() = default;
  virtual uint64_t mmio_read(Reg r) = 0;
  virtual void mmio_write(Reg r, uint64_t v) = 0;
  // The CPU is spinning (cpu_relax): hardware that has work makes progress.
  virtual void idle_progress() = 0;
};

}  // namespace vtd::sim

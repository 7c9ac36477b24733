// Invalidation queue (spec 6.5.2): descriptors in memory, 128- or 256-bit,
// processed from head to tail. Malformed descriptors raise IQE and stop the
// head; a device-TLB invalidation to a removed device raises ITE; a wait
// descriptor writes its status word when everything before it is done.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "simulator/caches.h"
#include "simulator/config.h"
#include "simulator/events.h"
#include "simulator/memory.h"

namespace vtd::sim {

enum DescType : uint8_t {
  kDescContext = 1,
  kDescIotlb = 2,
  kDescDevTlb = 3,
  kDescWait = 5,
  kDescPasidIotlb = 6,
  kDescPasidCache = 7,
  kDescPasidDevTlb = 8,
};
const char* desc_type_name(uint8_t type);

struct Descriptor {
  std::array<uint64_t, 4> w{};  // w[2], w[3] only in 256-bit mode (reserved)
  uint8_t type() const { return uint8_t((w[0] & 0xf) | ((w[0] >> 9 & 0x7) << 4)); }
  uint8_t granularity() const { return uint8_t(w[0] >> 4 & 3); }
  std::string str() const;  // "iotlb g=domain did=5"
};

enum class DescError : uint8_t { None, UnknownType, Reserved, BadGranularity, NoStatus };
const char* desc_error_name(DescError e);
// Well-formedness as hardware checks it (the IQE conditions).
DescError check_descriptor(const Descriptor& d, bool dw256);

// Encoders, one per descriptor (granularity names as the spec).
namespace desc {
Descriptor context_global();
Descriptor context_domain(uint16_t did);
Descriptor context_device(uint16_t did, Sid sid, uint8_t fm = 0);
Descriptor iotlb_global();
Descriptor iotlb_domain(uint16_t did);
Descriptor iotlb_page(uint16_t did, Iova addr, uint8_t am, bool ih = false);
Descriptor devtlb(Sid sid, Iova addr, uint8_t am);  // am = log2(pages); encoded with S
Descriptor devtlb_all(Sid sid);
Descriptor wait(PhysAddr status, uint32_t data, bool fence = true);
Descriptor piotlb_pasid(uint16_t did, uint32_t pasid);
Descriptor piotlb_page(uint16_t did, uint32_t pasid, Iova addr, uint8_t am, bool ih = false);
Descriptor pasid_cache_domain(uint16_t did);
Descriptor pasid_cache_pasid(uint16_t did, uint32_t pasid);
Descriptor pasid_cache_global();
Descriptor pdevtlb(Sid sid, uint32_t pasid, Iova addr, uint8_t am);
Descriptor pdevtlb_global(Sid sid, uint32_t pasid);
}  // namespace desc

// Hardware side of the queue: the IQA/IQH/IQT/FSTS registers and processing.
class InvQueue {
 public:
  InvQueue(const Config& cfg, PhysMemory& mem, Caches& caches);
  void set_observer(Observer* o) { obs_ = o; }
  // Asks whether a device is present (a device-TLB invalidation to an absent
  // device times out: ITE).
  void set_device_present(std::function<bool(Sid)> f) { present_ = std::move(f); }
  // Called before a translation-cache invalidation executes: in-flight walks
  // finish first (an invalidation completes only after walks that may hold
  // the old entry are done, spec 6.5.2).
  void set_drain(std::function<void()> f) { drain_ = std::move(f); }

  uint64_t read(Reg r) const;
  void write(Reg r, uint64_t v);  // FSTS is write-1-to-clear

  // Processes up to `max` descriptors; returns how many were processed.
  uint32_t process(uint32_t max);
  bool idle() const;  // nothing to do, or stopped on an error
  uint64_t fsts() const { return fsts_; }
  uint64_t processed() const { return processed_; }

  // Fault injection: the next processed descriptor raises `fsts_bit`
  // (fsts::IQE/ITE/ICE) instead of completing.
  void inject(uint64_t fsts_bit) { inject_ = fsts_bit; }

 private:
  uint32_t entry_bytes() const { return (iqa_ & iqa::DW) ? 32 : 16; }
  uint32_t entries() const;
  bool execute(const Descriptor& d, PhysAddr at);
  void raise(uint64_t bit, bool injected, PhysAddr at, const Descriptor* d);

  const Config& cfg_;
  PhysMemory& mem_;
  Caches& caches_;
  Observer* obs_ = nullptr;
  std::function<bool(Sid)> present_;
  std::function<void()> drain_;
  uint64_t iqa_ = 0, iqh_ = 0, iqt_ = 0, fsts_ = 0;
  uint64_t inject_ = 0;
  uint64_t processed_ = 0;
};

}  // namespace vtd::sim

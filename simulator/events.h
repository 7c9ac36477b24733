// Hardware events: what a logic analyzer on the remapping unit would see.
// Delivered to an attached observer; nothing is built when none is attached.
#pragma once

#include <cstdint>
#include <string>

#include "simulator/formats.h"
#include "simulator/types.h"

namespace vtd::sim {

enum class CacheKind : uint8_t { Context, Pasid, Iotlb, Psc, DevTlb, kCount };
const char* cache_kind_name(CacheKind c);

// Why a hardware read of a translation structure was unsafe (P6).
enum class Hazard : uint8_t {
  None,
  FreedPage,    // the page was freed (poisoned)
  WrongType,    // the page holds another kind of structure (or data)
  StaleLine,    // non-coherent: the line was never written back (DRAM holds poison)
  Unpublished,  // pointer became visible before the table's contents (missing wmb)
};
const char* hazard_name(Hazard h);

struct Translation;

enum class EventKind : uint8_t {
  Read,          // one quantum fetched by the walker (addr, v0, v1)
  UnsafeRead,    // a read of a structure that was not safe to read (hazard)
  EntryFetched,  // a translation-structure entry fully assembled (entry, addr)
  CacheFill,
  CacheHit,
  CacheEvict,  // evicted by a schedule choice (not an invalidation)
  CacheInval,  // entries removed by an invalidation descriptor (count)
  Fault,
  Descriptor,  // an invalidation descriptor was processed (desc_type, v0, v1)
  QueueError,  // IQE/ITE/ICE raised (v0 = FSTS bit)
  WaitDone,    // a wait descriptor wrote its status
  Dma,         // a DMA completed (xlat, value)
  Writeback,   // a non-coherent line was written back
};
const char* event_kind_name(EventKind k);

struct HwEvent {
  EventKind kind = EventKind::Read;
  CacheKind cache = CacheKind::Context;
  Hazard hazard = Hazard::None;
  PageType page_type = PageType::Free;
  EntryKind entry_kind = EntryKind::LegacyRoot;
  Access access = Access::Read;
  FaultReason fault = FaultReason::None;
  bool injected = false;  // QueueError raised by fault injection
  uint8_t desc_type = 0;
  Sid sid;
  uint32_t pasid = kNoPasid;
  uint16_t did = 0;
  PhysAddr addr = 0;
  Iova iova = 0;
  uint64_t v0 = 0, v1 = 0;
  uint32_t count = 0;
  const Entry* entry = nullptr;
  const Translation* xlat = nullptr;
};

// One line describing an event (its entry / translation pointers must be
// valid when called).
std::string describe(const HwEvent& e);

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_event(const HwEvent& e) = 0;
};

}  // namespace vtd::sim

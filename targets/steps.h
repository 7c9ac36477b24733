// What a runner does with an op besides calling the driver, shared by the
// ops runner (harness.cc) and the vIOMMU runner (viommu.cc): the call as
// the oracle's model sees it, and the hardware steps (DESIGN.md section 4:
// DMA, walks that may park, evictions, write-backs, queue processing).
#pragma once

#include <cstdint>

#include "oracle/model.h"
#include "prog/program.h"
#include "simulator/machine.h"

namespace vtd::harness {

// The op's PASID argument: kNoPasid when it names none.
uint32_t pasid_arg(const prog::Op& op);

// The op as an oracle ApiCall (its own kind and arguments).
oracle::ApiCall call_of(const prog::Op& op);

// Runs a hardware step on the machine (dma, memcpy, walk, resume-walks,
// evict, writeback, process-queue); other kinds do nothing. `dma_value`
// numbers the data DMA writes.
void hw_step(sim::Machine& m, const prog::Op& op, uint64_t* dma_value);

}  // namespace vtd::harness

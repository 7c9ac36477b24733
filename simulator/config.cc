#include "simulator/config.h"

#include "simulator/registers.h"

namespace vtd::sim {

uint64_t Config::cap() const {
  uint64_t c = cap::SAGAW_39 | cap::SAGAW_48;
  if (five_level) c |= cap::SAGAW_57 | cap::FS5LP;
  if (caching_mode) c |= cap::CM;
  if (quantum_bits == 64) c |= cap::MODEL_FETCH64;
  return c;
}

uint64_t Config::ecap() const {
  uint64_t e = ecap::QI | ecap::DT | ecap::PT;
  if (coherent) e |= ecap::C;
  if (scalable) e |= ecap::SMTS | ecap::PASID | ecap::SSTS | ecap::FLTS | ecap::NEST;
  return e;
}

}  // namespace vtd::sim

// vIOMMU programs (DESIGN.md section 13): a program that names a
// propagator (`viommu NAME`) runs here, not in the ops runner. The host is
// today's machine and driver (its writer is entry-sync-tempdid: the host
// is not under test); the VMM is the iommufd facade, the virtual unit and
// the propagator (vmm/); the guest is either
//  - the program itself (the `viommu` target): `g.entry` and `g.ctx` store
//    into guest tables the runner laid out for each assigned device, and
//    `g.inv` queues a descriptor (and a wait) into the virtual unit; or
//  - a second driver instance (two-level programs, those with g.domain,
//    g.attach ...), running the program's writer against the virtual unit.
// oracle/viommu.h judges P13, P15 and P16 throughout.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "prog/program.h"
#include "targets/harness.h"

namespace vtd::viommu {

// The host's entry writer in vIOMMU programs: entry-sync, hitless only
// where one quantum changes (a host DID change is teardown + setup, as
// the merged Linux replace is). A guest whose writer promises a hitless
// DID-changing replace (legacy, atomic128-v1, entry-sync-tempdid) is
// promised more than the VMM can give: its P3, one level up, is P14.
inline constexpr const char* kHostWriter = "entry-sync";

harness::Result run(const prog::Program& p, const harness::Options& o);
std::string check(const prog::Program& p, const harness::Options& o);  // harness::check's half

// The viommu fuzz target's input: a header byte and records that decode
// into a program of guest ops over assigned devices (targets/viommu_input.cc
// has the format). Every byte string decodes; `propagator` is written into
// the program.
prog::Program decode(std::span<const uint8_t> bytes, const std::string& propagator);
// The engines' dictionary for that form (corpus/viommu.dict).
std::string dictionary();

}  // namespace vtd::viommu

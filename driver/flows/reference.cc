// The `reference` live-update flow: LuFlow's own hooks (driver/live_update.h
// says what they follow; DESIGN.md section 12). Every catalog flow in this
// directory is it with one step changed.
#include "driver/live_update.h"

VTDFUZZ_REGISTER_LU_FLOW(vtd::drv::LuFlow, "reference",
                         "the seeds' consensus: clear unpreserved entries, flush, TE on; take "
                         "over the root, reclaim DIDs at init, keep the entry at probe",
                         "", "clean");

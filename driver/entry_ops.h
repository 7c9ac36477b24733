// Building blocks the writers share (and out-of-tree writers may use):
// storing an entry quantum by quantum at the CPU's atomic width, and the
// invalidation sequences of VTD-REFERENCE.md "What software must do".
#pragma once

#include <initializer_list>
#include <vector>

#include "driver/writer.h"

namespace vtd::drv::ops {

// Words of an entry that hold defined fields (PASID entry: chunks 0 and 1;
// chunks 2 and 3 are reserved and stay zero).
int entry_words(sim::EntryKind k);
// Atomic store quanta of an entry for this CPU (128-bit with cmpxchg16b).
int quanta(const Caps& caps, sim::EntryKind k);
// Stores quantum q of `v` with one atomic store (write128 or WRITE_ONCE).
void store_quantum(WriterCtx& ctx, const EntryRef& at, const sim::Entry& v, int q);
bool quantum_differs(const Caps& caps, const sim::Entry& a, const sim::Entry& b, int q);
// Every defined word of `v` with plain C stores, word 0 first (the
// pre-atomicity idiom: `*pte = new_pte`, memset).
void store_plain(WriterCtx& ctx, const EntryRef& at, const sim::Entry& v, int words);
// Every word of `v`, WRITE_ONCE each, in order, `p_last`: word 0 last.
void store_once(WriterCtx& ctx, const EntryRef& at, const sim::Entry& v, bool p_last);
void clflush_entry(WriterCtx& ctx, const EntryRef& at);

std::vector<sim::Descriptor> join(std::initializer_list<std::vector<sim::Descriptor>> parts);
// Caches holding the old entry, then what was translated through it, then
// the device-TLB (spec 6.5.3.3).
Status flush_old(WriterCtx& ctx, const sim::Entry& old, uint16_t old_did);
// Not-present -> present needs no invalidation unless CM=1 (VTD-REFERENCE).
Status flush_new_if_cm(WriterCtx& ctx, const sim::Entry& now, uint16_t did);
// The DID a cached not-present entry is tagged with, for the entry-cache
// invalidation after it became present as `now` (tagged `did`): with CM=1
// a not-present legacy context entry is cached under DID 0 (Linux
// context_present_cache_flush()); a PASID-selective invalidation drops a
// not-present PASID entry whatever its DID, so the new DID is named.
uint16_t not_present_did(const sim::Entry& now, uint16_t did);

// Tear down a present entry: clear P, flush, then zero the rest (spec
// 6.5.3.3, seeds/001 patch 2), clflush at each step.
void teardown(WriterCtx& ctx, const EntryRef& at, const sim::Entry& old, uint16_t old_did);
// Not-present -> present: everything but the quantum holding P, then P.
void setup(WriterCtx& ctx, const EntryRef& at, const sim::Entry& cur, const sim::Entry& target,
           uint16_t did);

}  // namespace vtd::drv::ops

// atomic128-v1: the three-patch series of seeds/001 (Lu Baolu, 2026-01-13):
// context entries built on the stack and stored with one 128-bit cmpxchg;
// PASID teardown clears P, flushes, then zeroes the rest; a PASID replace is
// hitless only when one 128-bit chunk changes (first-stage/nested: chunk 0
// must match; second-stage/pass-through: chunk 1), else teardown + setup.
// Every replace is declared hitless — the series' claim — so a first-stage
// replace whose DID changes (chunk 0 differs) breaks the promise (seeds/001,
// Samiullah Khawaja: "the DID is part of the first 128 bits").
#pragma once

#include "driver/entry_ops.h"
#include "driver/writer.h"

namespace vtd::drv {

class Atomic128V1 : public Writer {
 public:
  Status update(WriterCtx& ctx, const Transition& t) override;
  bool hitless(const Caps&, const sim::Entry& old, const sim::Entry& target) const override {
    return old.present() && target.present();
  }
  // The series makes INTEL_IOMMU depend on X86_64 and uses cmpxchg16b.
  bool supports(const Caps& caps) const override { return caps.cpu128; }

 protected:
  static int chunks(const EntryRef& at) { return ops::entry_words(at.kind) / 2; }
  // One 128-bit chunk: intel_iommu_atomic128_set().
  virtual void store_chunk(WriterCtx& ctx, const EntryRef& at, const sim::Entry& v, int chunk);
  void setup(WriterCtx& ctx, const EntryRef& at, const sim::Entry& target, uint16_t did);
  virtual void teardown(WriterCtx& ctx, const EntryRef& at, const sim::Entry& old, uint16_t did);
  // pasid_support_hitless_replace(): which chunk may change, or -1.
  static int hitless_chunk(const sim::Entry& old, const sim::Entry& target);
};

}  // namespace vtd::drv

// teardown-replace: what was finally merged after seeds/001 — a replace is a
// teardown (clear P, flush, zero) followed by a setup (fill, P last). Never
// hitless, never torn.
#pragma once

#include "driver/writers/atomic128_v1.h"

namespace vtd::drv {

class TeardownReplace : public Atomic128V1 {
 public:
  Status update(WriterCtx& ctx, const Transition& t) override {
    if (t.changes_domain) ctx.tag_add(Side::New, t.new_did);
    if (t.old.present()) teardown(ctx, t.at, t.old, t.old_did);
    if (t.target.present()) setup(ctx, t.at, t.target, t.new_did);
    if (t.changes_domain) ctx.tag_remove(Side::Old, t.old_did);
    return Status::Ok;
  }
  bool hitless(const Caps&, const sim::Entry&, const sim::Entry&) const override { return false; }
  // Falls back to ordered 64-bit halves without cmpxchg16b (seeds/001:
  // "fall back to 64 bit operation automatically").
  bool supports(const Caps&) const override { return true; }
};

}  // namespace vtd::drv

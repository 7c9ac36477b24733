// Program minimization driven by a predicate (syzkaller's
// prog/minimization.go): remove ops, then schedule points and choices,
// then simplify arguments and the platform configuration, as long as the
// predicate — normally "same violation signature" — still holds.
#pragma once

#include <cstdint>
#include <functional>

#include "prog/program.h"

namespace vtd::minimize {

using Predicate = std::function<bool(const prog::Program&)>;

struct Stats {
  uint32_t runs = 0;  // predicate evaluations
  size_t ops_before = 0, ops_after = 0;
};

prog::Program minimize(const prog::Program& p, const Predicate& keep, Stats* stats = nullptr);

}  // namespace vtd::minimize

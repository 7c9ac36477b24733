#include "prog/minimize.h"

#include <vector>

namespace vtd::minimize {

using prog::Arg;
using prog::Op;
using prog::Program;

namespace {

class Minimizer {
 public:
  Minimizer(const Predicate& keep, Stats* st) : keep_(keep), st_(st) {}

  bool holds(const Program& p) {
    if (st_) ++st_->runs;
    return keep_(p);
  }

  // Delta debugging over the op list: chunks of n/2, n/4, ..., 1.
  bool remove_ops(Program& p) {
    bool any = false;
    for (size_t chunk = std::max<size_t>(1, p.ops.size() / 2);; chunk /= 2) {
      for (size_t i = 0; i + chunk <= p.ops.size();) {
        Program q = p;
        q.ops.erase(q.ops.begin() + long(i), q.ops.begin() + long(i + chunk));
        if (holds(q)) {
          p = std::move(q);
          any = true;
        } else {
          i += chunk;
        }
      }
      if (chunk == 1) break;
    }
    return any;
  }

  bool remove_schedule(Program& p) {
    bool any = false;
    for (size_t i = 0; i < p.ops.size(); ++i) {
      for (size_t k = 0; k < p.ops[i].sched.size();) {
        Program q = p;
        q.ops[i].sched.erase(q.ops[i].sched.begin() + long(k));
        if (holds(q)) {
          p = std::move(q);
          any = true;
        } else {
          ++k;
        }
      }
      // Choices: drop the tail, then zero what is left one by one.
      while (!p.ops[i].choices.empty()) {
        Program q = p;
        q.ops[i].choices.pop_back();
        if (!holds(q)) break;
        p = std::move(q);
        any = true;
      }
      for (size_t k = 0; k < p.ops[i].choices.size(); ++k) {
        if (!p.ops[i].choices[k]) continue;
        Program q = p;
        q.ops[i].choices[k] = 0;
        if (holds(q)) {
          p = std::move(q);
          any = true;
        }
      }
    }
    return any;
  }

  // Tries one argument value; keeps it when the predicate still holds.
  bool try_arg(Program& p, Op& (*at)(Program&, size_t, size_t), size_t i, size_t k, Arg a,
               uint64_t v) {
    Program q = p;
    Op& op = at(q, i, k);
    if (op.get(a) == v) return false;
    op.set(a, v);
    if (!holds(q)) return false;
    p = std::move(q);
    return true;
  }

  static Op& top(Program& p, size_t i, size_t) { return p.ops[i]; }
  static Op& step(Program& p, size_t i, size_t k) { return p.ops[i].sched[k].step.front(); }

  // Simpler argument values: addresses to 0 or page-aligned, sizes to 4 KiB,
  // flags off, PASIDs absent, counts small.
  bool simplify_args(Program& p) {
    bool any = false;
    for (size_t i = 0; i < p.ops.size(); ++i) {
      for (int which = -1; which < int(p.ops[i].sched.size()); ++which) {
        auto at = which < 0 ? &Minimizer::top : &Minimizer::step;
        size_t k = which < 0 ? 0 : size_t(which);
        if (at(p, i, k).kind == prog::OpKind::Cpu2) continue;
        for (Arg a : {Arg::Iova, Arg::Dst}) {
          uint64_t v = at(p, i, k).get(a);
          if (!v) continue;
          if (try_arg(p, at, i, k, a, 0)) {
            any = true;
            continue;
          }
          if (v & 0xfff) any |= try_arg(p, at, i, k, a, v & ~0xfffull);
        }
        for (Arg a : {Arg::Ats, Arg::PasidCap, Arg::Split, Arg::Index, Arg::Size, Arg::Parent,
                      Arg::S1Flags, Arg::Fspm, Arg::NoWait})
          if (at(p, i, k).get(a)) any |= try_arg(p, at, i, k, a, 0);
        if (at(p, i, k).get(Arg::Pasid) != prog::kNoPasidArg)
          any |= try_arg(p, at, i, k, Arg::Pasid, prog::kNoPasidArg);
        if (at(p, i, k).get(Arg::Levels) && at(p, i, k).get(Arg::Levels) != 4 &&
            at(p, i, k).kind == prog::OpKind::Domain)
          any |= try_arg(p, at, i, k, Arg::Levels, 4);
        if (at(p, i, k).kind == prog::OpKind::Map && at(p, i, k).get(Arg::Perm) != 3)
          any |= try_arg(p, at, i, k, Arg::Perm, 3);
      }
      // Earlier schedule points are easier to read.
      for (size_t k = 0; k < p.ops[i].sched.size(); ++k) {
        while (p.ops[i].sched[k].index > 1) {
          Program q = p;
          --q.ops[i].sched[k].index;
          if (!holds(q)) break;
          p = std::move(q);
          any = true;
        }
      }
    }
    return any;
  }

  // The default platform where the finding does not depend on it.
  bool simplify_config(Program& p) {
    bool any = false;
    const sim::Config def;
    auto attempt = [&](auto change) {
      Program q = p;
      change(q.config);
      if (q.config == p.config || !holds(q)) return;
      p = std::move(q);
      any = true;
    };
    attempt([&](sim::Config& c) { c.caching_mode = def.caching_mode; });
    attempt([&](sim::Config& c) { c.coherent = def.coherent; });
    attempt([&](sim::Config& c) { c.quantum_bits = def.quantum_bits; });
    attempt([&](sim::Config& c) { c.cpu128 = def.cpu128; });
    attempt([&](sim::Config& c) { c.five_level = def.five_level; });
    attempt([&](sim::Config& c) { c.scalable = def.scalable; });
    return any;
  }

 private:
  const Predicate& keep_;
  Stats* st_;
};

}  // namespace

Program minimize(const Program& input, const Predicate& keep, Stats* stats) {
  Minimizer m(keep, stats);
  Program p = input;
  if (stats) stats->ops_before = p.ops.size();
  for (int round = 0; round < 8; ++round) {
    bool changed = m.remove_ops(p);
    changed |= m.remove_schedule(p);
    changed |= m.simplify_args(p);
    changed |= m.simplify_config(p);
    if (!changed) break;
  }
  if (stats) stats->ops_after = p.ops.size();
  return p;
}

}  // namespace vtd::minimize

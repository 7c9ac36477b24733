// Internals of the transition checker shared by its parts (not for use
// outside transitions/).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "oracle/scope.h"
#include "transitions/transitions.h"

namespace vtd::transitions::detail {

// The simulator's names the checker's parts speak in.
using sim::Descriptor;
using sim::Entry;
using sim::EntryKind;
using sim::Field;

inline int entry_words(EntryKind k) {
  return sim::format_of(k).words;
}
inline int fetch_words(EntryKind k) {
  return sim::format_of(k).fetch_words;
}
inline uint16_t did_of(const Entry& e) {
  return e.present() ? uint16_t(e.get(Field::DID)) : 0;
}

// The rules judged on every entry the hardware assembles (judge.cc).
class Judge {
 public:
  Judge(const Spec& s, const Result& r);
  using Report = std::function<void(oracle::Property, const std::string& what)>;
  // An entry a fetch assembled; the first `k` flush groups were submitted
  // before the fetch completed.
  void entry(const Entry& e, uint32_t k, const Report& report);
  // The hardware-visible entry when update() returned is the target.
  bool final_ok(const Entry& e) const;
  bool saw_not_present() const { return saw_not_present_; }
  bool torn() const { return torn_; }

 private:
  struct Pos {
    uint32_t group = 0, index = 0;
    auto operator<=>(const Pos&) const = default;
  };
  Pos removal(const oracle::CachedLine& line, bool scalable, uint32_t from_group) const;
  bool covered(const Entry& e, uint32_t from_group) const;

  const Spec& s_;
  const Result& r_;
  Entry target_cfg_;
  bool both_present_ = false;
  std::vector<uint16_t> temporary_;  // DIDs tagged on both sides
  bool saw_not_present_ = false;
  bool torn_ = false;
};

// Two observations are one finding when the rule judges them alike.
bool same_kind(const Finding& f, Rule rule, oracle::Property p, const Entry& e);

// The search over every interleaving of one fetch with the recorded update
// (explore.cc); fills r's counters and findings.
void explore(const Spec& s, Result& r);

// Once per transition (judge.cc): the non-coherent write-back of the
// entry's line, and the cache-tag contract.
void check_written_back(const Spec& s, Result& r);
void check_tags(const Spec& s, Result& r);

}  // namespace vtd::transitions::detail

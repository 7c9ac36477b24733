#include "transitions/internal.h"

namespace vtd::transitions {

using namespace detail;

std::string Finding::label() const {
  switch (rule) {
    case Rule::Property:
      return oracle::property_name(property);
    case Rule::Final:
      return "final";
    case Rule::Tags:
      return "tags";
    case Rule::Contract:
      return "contract";
  }
  return "?";
}

drv::Caps Spec::caps() const {
  drv::Caps c;
  c.scalable = kind() != EntryKind::LegacyContext;
  c.coherent = coherent;
  c.cm = cm;
  c.cpu128 = cpu128;
  c.fetch128 = quantum_bits == 128;
  return c;
}

std::string Spec::variant() const {
  std::string v = cpu128 ? "cpu128" : "cpu64";
  v += quantum_bits == 64 ? " q64" : " q128";
  v += coherent ? " coherent" : " noncoherent";
  if (cm) v += " cm";
  return v;
}

Result check(drv::Writer& w, const Spec& s) {
  Result r;
  const drv::Caps caps = s.caps();
  if (!w.supports(caps)) {
    r.supported = false;
    return r;
  }
  r.rec = record(w, s);
  r.hitless_declared = w.hitless(caps, s.old, s.target);
  for (const std::string& p : r.rec.problems) {
    Finding f;
    f.rule = Rule::Contract;
    f.what = p;
    r.findings.push_back(std::move(f));
  }
  if (r.rec.status != drv::Status::Ok) {
    Finding f;
    f.rule = Rule::Contract;
    f.what = std::string("update() returned ") + drv::status_name(r.rec.status);
    r.findings.push_back(std::move(f));
  }
  explore(s, r);
  check_written_back(s, r);
  check_tags(s, r);
  return r;
}

}  // namespace vtd::transitions

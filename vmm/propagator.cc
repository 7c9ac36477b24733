#include "vmm/propagator.h"

#include <algorithm>

#include "driver/writer.h"

namespace vtd::vmm {

namespace {
std::vector<PropagatorInfo>& registry() {
  static std::vector<PropagatorInfo> r;  // filled at static initialization only
  return r;
}
}  // namespace

std::vector<std::string_view> PropagatorInfo::expected_properties() const {
  return drv::expected_list(expect);
}

PropagatorRegistrar::PropagatorRegistrar(std::string_view name, PropagatorFactory make,
                                         std::string_view summary, std::string_view catalog,
                                         std::string_view expect) {
  auto& r = registry();
  r.push_back({name, summary, make, catalog, expect});
  std::sort(r.begin(), r.end(),
            [](const PropagatorInfo& a, const PropagatorInfo& b) { return a.name < b.name; });
}

const std::vector<PropagatorInfo>& propagators() {
  return registry();
}

const PropagatorInfo* propagator_info(std::string_view name) {
  for (const PropagatorInfo& p : registry())
    if (p.name == name) return &p;
  return nullptr;
}

std::unique_ptr<Propagator> make_propagator(std::string_view name) {
  const PropagatorInfo* p = propagator_info(name);
  return p ? p->make() : nullptr;
}

}  // namespace vtd::vmm

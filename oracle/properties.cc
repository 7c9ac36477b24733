#include "oracle/properties.h"

namespace vtd::oracle {

namespace {
constexpr PropertyInfo kProperties[] = {
#define VTDFUZZ_PROPERTY(id, title, rank, checks, catches) \
  {Property::id, #id, title, rank, checks, catches},
#include "oracle/properties.def"
#undef VTDFUZZ_PROPERTY
};
static_assert(sizeof(kProperties) / sizeof(kProperties[0]) == size_t(Property::kCount));
}  // namespace

std::span<const PropertyInfo> properties() {
  return kProperties;
}

const PropertyInfo& property_info(Property p) {
  return kProperties[size_t(p)];
}

bool parse_property(std::string_view name, Property* out) {
  for (const PropertyInfo& p : kProperties)
    if (name == p.name || name == p.title) {
      *out = p.id;
      return true;
    }
  return false;
}

}  // namespace vtd::oracle

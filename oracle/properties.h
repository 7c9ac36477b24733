// The properties (oracle/properties.def) as values: the enum every checker
// reports with, and the table the tools read names and titles from.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace vtd::oracle {

enum class Property : uint8_t {
#define VTDFUZZ_PROPERTY(id, title, rank, checks, catches) id,
#include "oracle/properties.def"
#undef VTDFUZZ_PROPERTY
  kCount
};

struct PropertyInfo {
  Property id;
  const char* name;     // "P1"
  const char* title;    // "torn-entry"
  int rank;             // report order among one op's findings (lowest first)
  const char* checks;   // one line: what it checks
  const char* catches;  // the catalog bugs it catches
};

// Every property, in id order.
std::span<const PropertyInfo> properties();
const PropertyInfo& property_info(Property p);
inline const char* property_name(Property p) {
  return property_info(p).name;
}
inline const char* property_title(Property p) {
  return property_info(p).title;
}
// "P1" (or "torn-entry") -> Property::P1; false when no property has it.
bool parse_property(std::string_view name, Property* out);

}  // namespace vtd::oracle

// The registries of the parts a user plugs in: writers (driver/writer.h),
// live-update flows (driver/live_update.h) and propagators
// (vmm/propagator.h). A part registers itself at static initialization
// with its name, a one-line summary and what it is for; its registry is
// sorted by name and read-only afterwards. One template, three registries.
#pragma once

#include <algorithm>
#include <memory>
#include <string_view>
#include <vector>

namespace vtd::drv {

// "P4|P2" -> {"P4", "P2"}; "clean" and "" -> {}.
std::vector<std::string_view> expected_list(std::string_view expect);

template <typename T>
struct PartInfo {
  using Factory = std::unique_ptr<T> (*)();
  std::string_view name;
  std::string_view summary;  // one line for the listing commands
  Factory make;
  // What the part is for, as it declares it: the catalog bugs it models
  // ("B1 B2 B3", DESIGN.md sections 7, 12 and 13; empty for none) and the
  // verdict the campaign expects: "clean", or the properties one of which
  // must be found ("P4|P2"); empty when it declares nothing.
  std::string_view catalog;
  std::string_view expect;
  bool expects_clean() const { return expect == "clean"; }
  // Empty when clean or undeclared.
  std::vector<std::string_view> expected_properties() const { return expected_list(expect); }
};

template <typename T>
class Registry {
 public:
  static const std::vector<PartInfo<T>>& all() { return parts(); }
  static const PartInfo<T>* find(std::string_view name) {  // nullptr if unknown
    for (const PartInfo<T>& p : parts())
      if (p.name == name) return &p;
    return nullptr;
  }
  static std::unique_ptr<T> make(std::string_view name) {  // nullptr if unknown
    const PartInfo<T>* p = find(name);
    return p ? p->make() : nullptr;
  }

  struct Registrar {
    Registrar(std::string_view name, typename PartInfo<T>::Factory make, std::string_view summary,
              std::string_view catalog = "", std::string_view expect = "") {
      std::vector<PartInfo<T>>& r = parts();
      r.push_back({name, summary, make, catalog, expect});
      std::sort(r.begin(), r.end(),
                [](const PartInfo<T>& a, const PartInfo<T>& b) { return a.name < b.name; });
    }
  };

 private:
  static std::vector<PartInfo<T>>& parts() {
    static std::vector<PartInfo<T>> r;  // filled at static initialization only
    return r;
  }
};

}  // namespace vtd::drv

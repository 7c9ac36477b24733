#include "tools/fuzz_options.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <tuple>

#include "driver/live_update.h"
#include "driver/writer.h"
#include "oracle/properties.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/hunt.h"
#include "tools/process.h"
#include "vmm/propagator.h"

namespace vtd::tools {
namespace {

// DESIGN.md section 5, in the order a campaign runs them by default: the
// writers likely to stop early first.
const char* const kDesignWriters[] = {
    "legacy",           "atomic128-v1", "fs-inplace-did",     "cache-tag-late",
    "teardown-replace", "entry-sync",   "entry-sync-tempdid",
};

// "P1 torn-entry, P2 translation, ..."
std::string property_list() {
  std::string s;
  for (const oracle::PropertyInfo& p : oracle::properties())
    s += (s.empty() ? "" : ", ") + std::string(p.name) + " " + p.title;
  return s;
}

// A property by name or title, rewritten to its name.
CLI::Validator property_name() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        oracle::Property p;
        if (!oracle::parse_property(v, &p))
          return "unknown property '" + v + "' (" + property_list() + ")";
        v = oracle::property_name(p);
        return "";
      },
      "");
}

}  // namespace

// A writer, or `catalog` / `all`.
CLI::Validator writer_or_set() {
  return CLI::Validator(
      [](std::string& w) -> std::string {
        if (w == "catalog" || w == "all" || drv::writer_info(w)) return "";
        return "unknown writer '" + w + "' (see ./vtdfuzz writers; or catalog, all)";
      },
      "");
}

// A flow, or `catalog` / `all` / `none`.
CLI::Validator flow_or_set() {
  return CLI::Validator(
      [](std::string& f) -> std::string {
        if (f == "catalog" || f == "all" || f == "none" || drv::lu_flow_info(f)) return "";
        return "unknown live-update flow '" + f + "' (see ./vtdfuzz flows; or catalog, all, none)";
      },
      "");
}

namespace {

// A propagator, or `catalog` / `all`.
CLI::Validator propagator_or_set() {
  return CLI::Validator(
      [](std::string& p) -> std::string {
        if (p == "catalog" || p == "all" || vmm::propagator_info(p)) return "";
        return "unknown propagator '" + p + "' (see ./vtdfuzz propagators; or catalog, all)";
      },
      "");
}


// Catalog order: the number of the first id ("B1 B2 B3 B9" -> 1), none last.
int first_catalog_id(std::string_view catalog) {
  size_t b = catalog.find('B');
  return b == std::string_view::npos ? INT_MAX
                                     : std::atoi(std::string(catalog.substr(b + 1)).c_str());
}

const char* const kTargets = "ops, viommu, twolevel";

}  // namespace

void add_fuzz_options(CLI::App& sub, FuzzOptions& o, FuzzCommand c) {
  const bool hunt = c == FuzzCommand::Hunt;
  if (hunt) {
    sub.add_option("--target", o.targets[0],
                   "the fuzz target: ops, viommu or twolevel (default ops)")
        ->type_name("T");
    add_writer_option(sub, o.writer,
                      "the writer to fuzz (twolevel: the guest's; ops needs one or --lu, which "
                      "defaults it to entry-sync)");
    add_lu_option(sub, o.lu, "the live-update flow to fuzz (target ops)");
    add_viommu_option(sub, o.viommu, "the propagator to fuzz (targets viommu and twolevel)");
  } else {
    sub.add_option("--targets", o.targets, "the fuzz targets: ops, viommu, twolevel (default ops)")
        ->type_name("T,...")
        ->delimiter(',');
    sub.add_option("--writers", o.writers,
                   "the writers to fuzz: names, catalog (every writer with catalog ids) or all "
                   "(default: the seven of DESIGN.md section 5)")
        ->type_name("W,...|catalog|all")
        ->delimiter(',')
        ->check(writer_or_set());
    sub.add_option("--lu", o.flows,
                   "the live-update flows to fuzz (with writer entry-sync): names, catalog, all "
                   "or none (default: the catalog flows and reference)")
        ->type_name("F,...|catalog|all|none")
        ->delimiter(',')
        ->check(flow_or_set());
    sub.add_option("--viommu", o.viommus,
                   "the propagators of the viommu and twolevel rows: names, catalog or all "
                   "(default all)")
        ->type_name("NAME,...|catalog|all")
        ->delimiter(',')
        ->check(propagator_or_set());
  }
  CLI::Option* time =
      sub.add_option("--time", o.seconds,
                     hunt ? "seconds to fuzz at most" : "seconds in all (default 300)")
          ->type_name("S")
          ->check(positive_seconds());
  if (hunt)
    time->required();
  else
    o.seconds = 300;
  sub.add_option("--engine", o.engine, "the fuzzing engine (default libfuzzer)")
      ->type_name("libfuzzer|afl")
      ->check(CLI::Validator(
          [](std::string& e) -> std::string {
            return e == "libfuzzer" || e == "afl" ? ""
                                                  : "unknown engine '" + e + "' (libfuzzer, afl)";
          },
          ""));
  if (hunt) {
    sub.add_flag("--empty", o.empty, "start from an empty program, not the seed corpus");
    sub.add_option("--property", o.property,
                   "fuzz until a violation of P (by name or title); list the others passed over")
        ->type_name("P")
        ->check(property_name());
  } else {
    sub.add_option("--jobs", o.jobs, "parallel fuzzing processes per writer (default 1)")
        ->type_name("N")
        ->check(int_range(1, 64));
  }
}

bool viommu_target(const std::string& target) {
  return target == "viommu" || target == "twolevel";
}

void check_fuzz_options(const FuzzOptions& o, FuzzCommand c) {
  for (const std::string& t : o.targets) {
    refuse_writerless_target(o.engine, t);
    const std::string bin = target_binary(o.engine, t);
    const bool known = t == "ops" || viommu_target(t);
    if (!known && c == FuzzCommand::Hunt)
      throw UsageError("unknown target '" + t + "' (" + kTargets + ")");
    if (!known && !file_exists(bin))
      throw UsageError("unknown target '" + t + "' (no " + bin + ")");
    if (c == FuzzCommand::Hunt && !viommu_target(t) && o.writer.empty() && o.lu.empty())
      throw UsageError("hunt: --writer W or --lu F is required on target " + t);
    if (c == FuzzCommand::Hunt && viommu_target(t) && !o.lu.empty())
      throw UsageError("hunt: --lu is for the target ops, not " + t);
    if (c == FuzzCommand::Hunt && viommu_target(t) && o.viommu.empty())
      throw UsageError("hunt: --viommu NAME is required on target " + t);
    if (c == FuzzCommand::Hunt && !viommu_target(t) && !o.viommu.empty())
      throw UsageError("hunt: --viommu is for the targets viommu and twolevel, not " + t);
    // Before anything is printed: the engine's build of the target is there.
    if (!file_exists(bin))
      throw UsageError("no " + o.engine + " build of target '" + t + "' (" + bin + ")");
  }
}

std::vector<std::string> campaign_writers(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  auto add = [&](std::string_view w) {
    if (std::find(out.begin(), out.end(), w) == out.end()) out.emplace_back(w);
  };
  if (given.empty())
    for (const char* w : kDesignWriters) add(w);
  for (const std::string& g : given) {
    if (g != "catalog" && g != "all") {
      add(g);
      continue;
    }
    std::vector<const drv::WriterInfo*> set;
    for (const drv::WriterInfo& w : drv::writers())
      if (g == "all" || !w.catalog.empty()) set.push_back(&w);
    auto key = [](const drv::WriterInfo* w) {
      return std::make_tuple(w->expected_properties().empty(), first_catalog_id(w->catalog),
                             w->name);
    };
    std::stable_sort(
        set.begin(), set.end(),
        [&](const drv::WriterInfo* a, const drv::WriterInfo* b) { return key(a) < key(b); });
    for (const drv::WriterInfo* w : set) add(w->name);
  }
  return out;
}

std::vector<std::string> campaign_flows(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  auto add = [&](std::string_view f) {
    if (std::find(out.begin(), out.end(), f) == out.end()) out.emplace_back(f);
  };
  auto set = [&](bool all) {
    std::vector<const drv::LuFlowInfo*> v;
    for (const drv::LuFlowInfo& f : drv::lu_flows())
      if (all || !f.catalog.empty()) v.push_back(&f);
    std::stable_sort(v.begin(), v.end(), [](const drv::LuFlowInfo* a, const drv::LuFlowInfo* b) {
      return std::make_tuple(a->expected_properties().empty(), first_catalog_id(a->catalog),
                             a->name) < std::make_tuple(b->expected_properties().empty(),
                                                        first_catalog_id(b->catalog), b->name);
    });
    for (const drv::LuFlowInfo* f : v) add(f->name);
  };
  if (given.empty()) {
    set(false);
    add("reference");
  }
  for (const std::string& g : given) {
    if (g == "none") continue;
    if (g == "catalog" || g == "all")
      set(g == "all");
    else
      add(g);
  }
  if (std::find(given.begin(), given.end(), "none") != given.end()) out.clear();
  return out;
}

std::vector<std::string> campaign_propagators(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  auto add = [&](std::string_view p) {
    if (std::find(out.begin(), out.end(), p) == out.end()) out.emplace_back(p);
  };
  for (const std::string& g : given.empty() ? std::vector<std::string>{"all"} : given) {
    if (g != "catalog" && g != "all") {
      add(g);
      continue;
    }
    std::vector<const vmm::PropagatorInfo*> set;
    for (const vmm::PropagatorInfo& p : vmm::propagators())
      if (g == "all" || !p.catalog.empty()) set.push_back(&p);
    auto key = [](const vmm::PropagatorInfo* p) {
      return std::make_tuple(p->expected_properties().empty(), first_catalog_id(p->catalog),
                             p->name);
    };
    std::stable_sort(set.begin(), set.end(),
                     [&](const vmm::PropagatorInfo* a, const vmm::PropagatorInfo* b) {
                       return key(a) < key(b);
                     });
    for (const vmm::PropagatorInfo* p : set) add(p->name);
  }
  return out;
}

void refuse_writerless_target(const std::string& engine, const std::string& target) {
  if (target == "queue")
    throw UsageError("target 'queue' fuzzes the simulator, not a writer: run " +
                     target_binary(engine, target) + " directly");
}

}  // namespace vtd::tools

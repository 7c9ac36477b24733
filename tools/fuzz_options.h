// The options of hunt and campaign, defined once: one table says which
// command takes which (hunt fuzzes one writer on one target, campaign a
// list on several), one set of checks words their problems: an unknown
// writer or engine, a time that is not a positive number, a property that
// oracle/properties.def does not name, a target without a build.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
class Validator;
}  // namespace CLI

namespace vtd::tools {

enum class FuzzCommand { Hunt, Campaign };

struct FuzzOptions {
  std::string engine = "libfuzzer";            // --engine libfuzzer|afl
  double seconds = 0;                          // --time S (campaign: 300 unless given)
  std::string writer;                          // hunt --writer W
  std::string lu;                              // hunt --lu F
  std::vector<std::string> flows;              // campaign --lu, as given
  std::vector<std::string> writers;            // campaign --writers, as given
  std::vector<std::string> targets = {"ops"};  // hunt --target, campaign --targets
  int jobs = 1;                                // campaign --jobs N
  bool empty = false;                          // hunt --empty
  std::string property;                        // hunt --property, by name ("P1")
  // The vIOMMU targets (DESIGN.md section 13): viommu (the guest's raw
  // stores and descriptors) and twolevel (a guest driver running the
  // writer): the propagator they fuzz.
  std::string viommu;                // hunt --viommu NAME
  std::vector<std::string> viommus;  // campaign --viommu, as given
};

// A fuzz target's subjects: writers (ops), propagators (viommu, twolevel).
bool viommu_target(const std::string& target);

// Adds the options `c` takes to `sub`, bound to `o` (which must outlive
// the parse), with their value checks.
void add_fuzz_options(CLI::App& sub, FuzzOptions& o, FuzzCommand c);

// The checks that need the whole command line (a target's binary depends
// on --engine); throws UsageError.
void check_fuzz_options(const FuzzOptions& o, FuzzCommand c);

// campaign --writers: names, `catalog` (every writer that declares catalog
// ids, in catalog order) and `all` (every registered writer: those that
// declare a violation first, then the rest, so that time a writer does not
// need goes to the clean ones), each writer once. Empty: the seven of
// DESIGN.md section 5, the ones likely to stop early first.
std::vector<std::string> campaign_writers(const std::vector<std::string>& given);

// campaign --lu: flow names, `catalog` (every flow that declares catalog
// ids, in catalog order), `all` (those, then the rest) or `none`, each flow
// once. Empty: every catalog flow, then `reference` (live update's rows
// after the writers').
std::vector<std::string> campaign_flows(const std::vector<std::string>& given);

// A writer name, or `catalog` / `all` (campaign --writers, timetobug).
CLI::Validator writer_or_set();
// A live-update flow, or `catalog` / `all` / `none` (campaign --lu, timetobug).
CLI::Validator flow_or_set();

// campaign --viommu: names, `catalog` (every propagator with catalog ids,
// in catalog order) and `all`; empty: all.
std::vector<std::string> campaign_propagators(const std::vector<std::string>& given);

// hunt and campaign judge writers and propagators: a target that fuzzes the
// simulator itself (queue) is bad input for them, with a pointer to its
// binary.
void refuse_writerless_target(const std::string& engine, const std::string& target);

}  // namespace vtd::tools

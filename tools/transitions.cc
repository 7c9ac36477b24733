// vtdfuzz transitions: the exhaustive transition checker over the generated
// matrix (transitions/transitions.h), one row per transition, summary line last;
// --emit DIR writes an `ops` reproducer for each violating row it can
// rebuild through the iommu-core API.
#include "transitions/transitions.h"

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "driver/writer.h"
#include "prog/program.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/timeline.h"
#include "transitions/emit.h"

namespace vtd::tools {
namespace {

struct Args {
  std::string writer, emit, kind = "all";
  bool svg = false;  // each reproducer's timeline beside it
  int quantum = 0;   // 0: the CPU's store width
  bool coherent = false, no_cm = false;
};

// DIR/NAME.svg beside DIR/NAME.txt: the reproducer's timeline.
void write_timeline(const std::string& path, const std::string& text, const std::string& writer) {
  prog::Program p;
  std::string err;
  if (!prog::parse(text, &p, &err)) throw UsageError(path + ": " + err);
  TimelineOptions o;
  o.title = std::filesystem::path(path).filename().string();
  const std::string svg = render_timeline(p, writer, o, &err);
  if (svg.empty()) throw UsageError(path + ": " + err);
  const std::string out = std::filesystem::path(path).replace_extension(".svg").string();
  std::ofstream f(out, std::ios::binary);
  f << svg;
  if (!f) throw UsageError("cannot write '" + out + "'");
}

int run(const Args& a) {
  const std::string& writer = a.writer;
  const std::string& emit = a.emit;
  transitions::MatrixOptions mo;
  mo.kinds = a.kind == "context" ? transitions::KindSet::Context
             : a.kind == "pasid" ? transitions::KindSet::Pasid
                                 : transitions::KindSet::All;
  mo.quantum_bits = a.quantum;
  mo.noncoherent = !a.coherent;
  mo.cm = !a.no_cm;
  std::unique_ptr<drv::Writer> w = drv::make_writer(writer);
  if (!emit.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(emit, ec);
    if (ec) throw UsageError("cannot create '" + emit + "': " + ec.message());
  }

  const std::vector<transitions::Row> rows = transitions::matrix(mo);
  uint64_t n = 0, interleavings = 0, violations = 0, skipped = 0;
  uint32_t violating = 0, reachable = 0, emitted = 0;
  std::printf("# writer %s\n%s\n", writer.c_str(), transitions::row_header().c_str());
  for (const transitions::Row& row : rows) {
    transitions::Result r = transitions::check(*w, row.spec);
    std::printf("%s\n", transitions::row_text(row, r).c_str());
    if (!r.supported) {
      ++skipped;
      continue;
    }
    ++n;
    interleavings = interleavings + r.interleavings < interleavings
                        ? UINT64_MAX
                        : interleavings + r.interleavings;
    violations += r.findings.size();
    if (!r.violated()) continue;
    ++violating;
    for (const std::string& l : transitions::finding_lines(r)) std::printf("%s\n", l.c_str());
    if (emit.empty()) continue;
    transitions::Reproducer rep = transitions::reproduce(writer, row, r);
    if (rep.reachable) ++reachable;
    if (!rep.found) {
      std::printf("  reproducer: %s\n",
                  rep.reachable ? ("none found in " + std::to_string(rep.runs) + " runs").c_str()
                                : "the iommu-core API cannot make this transition");
      continue;
    }
    const std::string path =
        (std::filesystem::path(emit) / transitions::reproducer_name(row)).string();
    std::ofstream f(path, std::ios::binary);
    f << rep.text;
    if (!f) throw UsageError("cannot write '" + path + "'");
    ++emitted;
    std::printf("  reproducer: %s (%u runs): %s\n", path.c_str(), rep.runs, rep.verdict.c_str());
    if (a.svg) write_timeline(path, rep.text, writer);
  }
  if (skipped)
    std::printf("# %" PRIu64 " rows skipped: the writer does not support the platform\n", skipped);
  if (!emit.empty())
    std::printf("# reproducers: %u of %u violating rows (%u reachable through the API) in %s\n",
                emitted, violating, reachable, emit.c_str());
  std::printf("transitions %" PRIu64 ", interleavings %" PRIu64 ", violations %" PRIu64 "\n", n,
              interleavings, violations);
  return violations ? 1 : 0;
}

}  // namespace

Run add_transitions(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "transitions",
      "every interleaving of the hardware's quantum fetches with the writer's stores, for a "
      "generated matrix of (old, new) entry pairs; exit 1 on a violation");
  add_writer_option(*sub, a->writer, "the writer under test")->required();
  sub->add_option("--kind", a->kind, "the entries of the matrix (default all)")
      ->type_name("context|pasid|all")
      ->check(one_of({"context", "pasid", "all"}));
  CLI::Option* emit =
      sub->add_option("--emit", a->emit, "write an ops reproducer for each violating row to DIR")
          ->type_name("DIR");
  sub->add_flag("--svg", a->svg, "with --emit: each reproducer's timeline beside it (NAME.svg)")
      ->needs(emit);
  sub->add_option("--quantum", a->quantum,
                  "the hardware's fetch quantum (default: the CPU's store width)")
      ->type_name("64|128")
      ->check(one_of({"64", "128"}));
  sub->add_flag("--coherent", a->coherent, "only a coherent IOMMU (default: coherent and not)");
  sub->add_flag("--no-cm", a->no_cm, "only CAP.CM=0 (default: CM=0 and 1)");
  return [a] { return run(*a); };
}

}  // namespace vtd::tools

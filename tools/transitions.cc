// vtdfuzz transitions: the exhaustive transition checker over the generated
// matrix (transitions/transitions.h), one row per transition, summary line last;
// --emit DIR writes an `ops` reproducer for each violating row it can
// rebuild through the iommu-core API.
#include "transitions/transitions.h"

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "driver/writer.h"
#include "transitions/emit.h"
#include "tools/commands.h"

namespace vtd::tools {

int cmd_transitions(const Args& args) {
  std::string writer, emit;
  transitions::MatrixOptions mo;
  auto value = [&](size_t& i) -> const std::string& {
    if (i + 1 >= args.size()) throw UsageError(args[i] + " needs a value");
    return args[++i];
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--writer") {
      writer = value(i);
    } else if (a == "--kind") {
      const std::string& k = value(i);
      if (k == "context")
        mo.kinds = transitions::KindSet::Context;
      else if (k == "pasid")
        mo.kinds = transitions::KindSet::Pasid;
      else if (k == "all")
        mo.kinds = transitions::KindSet::All;
      else
        throw UsageError("--kind takes context, pasid or all, not '" + k + "'");
    } else if (a == "--emit") {
      emit = value(i);
    } else if (a == "--quantum") {
      const std::string& q = value(i);
      if (q != "64" && q != "128") throw UsageError("--quantum takes 64 or 128");
      mo.quantum_bits = std::stoi(q);
    } else if (a == "--no-cm") {
      mo.cm = false;
    } else if (a == "--coherent") {
      mo.noncoherent = false;
    } else {
      throw UsageError(
          "unknown argument '" + a +
          "' (transitions --writer W [--kind "
          "context|pasid|all] [--emit DIR] [--quantum 64|128] [--coherent] [--no-cm])");
    }
  }
  if (writer.empty()) throw UsageError("transitions needs --writer W");
  std::unique_ptr<drv::Writer> w = drv::make_writer(writer);
  if (!w) throw UsageError("unknown writer '" + writer + "' (see ./vtdfuzz writers)");
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

}  // namespace vtd::tools

// Program commands: writers, replay, explain, minimize, dict, convert.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "driver/live_update.h"
#include "driver/writer.h"
#include "prog/minimize.h"
#include "prog/program.h"
#include "targets/harness.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/hunt.h"
#include "tools/process.h"
#include "tools/timeline.h"
#include "vmm/propagator.h"

namespace vtd::tools {
namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  // A directory opens as a stream and fails at the first read, which the
  // stream library reports as an exception of its own (exit 1, the code of
  // a violation): name it as the usage error it is.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw UsageError("cannot read '" + path + "': a directory, not a program file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError("cannot read '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> bytes(std::istreambuf_iterator<char>(f), {});
  if (f.bad()) throw UsageError("cannot read '" + path + "': " + std::strerror(errno));
  return bytes;
}

prog::Program load_program(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  prog::Program p;
  std::string err;
  if (!prog::load(bytes, &p, &err)) throw UsageError(path + ": " + err);
  return p;
}

struct ProgramArgs {
  std::vector<std::string> files;
  std::string writer;
  std::string lu;
  std::string viommu;
  std::string out;
  std::string svg;  // --svg OUT: the timeline picture (tools/timeline.h)
  unsigned repeat = 1;
};

harness::Options options_of(const ProgramArgs& a, bool trace) {
  harness::Options o;
  o.writer = a.writer;
  o.lu = a.lu;
  o.viommu = a.viommu;
  o.trace = trace;
  return o;
}

// A program this command cannot run with these options is a usage error,
// found before any program runs (replay of many files prints nothing then).
void check_runnable(const prog::Program& p, const std::string& path, const ProgramArgs& a) {
  if (!a.viommu.empty() && p.viommu.empty())
    throw UsageError(path + ": --viommu is for vIOMMU programs, and this one names no propagator");
  const std::string why = harness::check(p, options_of(a, false));
  if (!why.empty()) throw UsageError(path + ": " + why);
}

// A program check_runnable has passed.
harness::Result run_program(const prog::Program& p, const std::string& path, const ProgramArgs& a,
                            bool trace) {
  harness::Result r = harness::run(p, options_of(a, trace));
  if (!r.error.empty()) throw UsageError(path + ": " + r.error);
  return r;
}

harness::Result run_checked(const prog::Program& p, const std::string& path, const ProgramArgs& a,
                            bool trace) {
  check_runnable(p, path, a);
  return run_program(p, path, a, trace);
}

// The timeline of a traced run, titled with the program's file name.
void write_svg(const std::string& out, const std::string& path, const prog::Program& p,
               const harness::Result& r) {
  TimelineOptions o;
  o.title = std::filesystem::path(path).filename().string();
  std::ofstream f(out, std::ios::binary);
  f << timeline_svg(p, r, o);
  if (!f) throw UsageError("cannot write '" + out + "'");
}

const char* const kSvgHelp = "also draw the run's timeline to OUT (SVG)";

const char* const kWriterHelp = "run against writer W instead of the one the program names";
const char* const kLuHelp = "live update with flow F instead of the one the program names";
const char* const kViommuHelp =
    "run a vIOMMU program against propagator NAME instead of the one it names";

// "writer legacy", "writer entry-sync, lu reference" or "writer -, viommu
// reference".
std::string who(const harness::Result& r) {
  const std::string w = r.writer.empty() ? "-" : r.writer;
  return "writer " + w + (r.lu.empty() ? "" : ", lu " + r.lu) +
         (r.viommu.empty() ? "" : ", viommu " + r.viommu);
}

// What `replay` prints for one program.
std::string replay_text(const std::string& path, const harness::Result& r) {
  if (r.violated) return path + ":\n" + harness::report(r);
  return path + ": clean (" + who(r) + ", " + std::to_string(r.ops_run) + " ops)\n";
}

// Same input, same result (DESIGN.md section 6): the program again, `n`
// times here and `n` times in a process of its own, must print `first`
// byte for byte. A difference is a bug of the tool, reported on stderr.
bool same_every_time(const std::string& path, const prog::Program& p, const ProgramArgs& a,
                     unsigned n, const std::string& first) {
  for (unsigned k = 2; k <= n; ++k)
    if (replay_text(path, run_program(p, path, a, false)) != first) {
      std::fprintf(stderr, "vtdfuzz: %s: run %u in this process differs from run 1\n", path.c_str(),
                   k);
      return false;
    }
  std::vector<std::string> argv = {"/proc/self/exe", "replay", path};
  if (!a.writer.empty()) argv.insert(argv.end(), {"--writer", a.writer});
  if (!a.lu.empty()) argv.insert(argv.end(), {"--lu", a.lu});
  if (!a.viommu.empty()) argv.insert(argv.end(), {"--viommu", a.viommu});
  for (unsigned k = 1; k <= n; ++k) {
    const ProcResult pr = run_process(argv, {}, 60, "/dev/null");
    if (pr.log != first) {
      std::fprintf(stderr, "vtdfuzz: %s: process %u printed something else than run 1\n",
                   path.c_str(), k);
      return false;
    }
  }
  std::printf("%s: identical in %u runs in this process and %u processes\n", path.c_str(), n, n);
  return true;
}

// One line of `writers`, `flows` or `propagators`: name, catalog ids,
// expected verdict (as the writer, flow or propagator declares them; "-" and
// "?" when it declares none), summary.
template <class Info>
int print_registry(const std::vector<Info>& all, int name_width, int catalog_width) {
  for (const Info& i : all) {
    const std::string catalog = i.catalog.empty() ? "-" : std::string(i.catalog);
    const std::string expect = i.expect.empty() ? "?" : std::string(i.expect);
    std::printf("%-*.*s %-*s %-8s %.*s\n", name_width, int(i.name.size()), i.name.data(),
                catalog_width, catalog.c_str(), expect.c_str(), int(i.summary.size()),
                i.summary.data());
  }
  return 0;
}

}  // namespace

Run add_writers(CLI::App& app) {
  app.add_subcommand("writers",
                     "every registered entry writer, one line each: name, catalog ids, expected "
                     "verdict, summary");
  return [] { return print_registry(drv::writers(), 20, 12); };
}

Run add_flows(CLI::App& app) {
  app.add_subcommand("flows",
                     "every registered live-update flow, one line each: name, catalog ids, "
                     "expected verdict, summary");
  return [] { return print_registry(drv::lu_flows(), 20, 12); };
}

Run add_propagators(CLI::App& app) {
  app.add_subcommand("propagators",
                     "every registered vIOMMU propagator, one line each: name, catalog ids, "
                     "expected verdict, summary");
  return [] { return print_registry(vmm::propagators(), 22, 6); };
}

Run add_replay(CLI::App& app) {
  auto a = std::make_shared<ProgramArgs>();
  CLI::App* sub = app.add_subcommand(
      "replay",
      "runs programs (text or binary); exit 0 clean, 1 violation (report on stdout), 2 bad input");
  sub->add_option("FILE", a->files, "a program, text or binary")->required()->type_name("");
  add_writer_option(*sub, a->writer, kWriterHelp);
  add_lu_option(*sub, a->lu, kLuHelp);
  add_viommu_option(*sub, a->viommu, kViommuHelp);
  sub->add_option("--repeat", a->repeat,
                  "run each program N times in this process and in N processes of its own; "
                  "exit 1 unless every output is byte-identical")
      ->type_name("N");
  return [a] {
    if (a->repeat < 1 || a->repeat > 100000)
      throw UsageError("--repeat: needs 1..100000 runs, got " + std::to_string(a->repeat));
    // Load and check everything first: a bad file is a usage error before
    // anything runs.
    std::vector<prog::Program> programs;
    for (const std::string& path : a->files) {
      programs.push_back(load_program(path));
      check_runnable(programs.back(), path, *a);
    }
    int rc = 0;
    for (size_t i = 0; i < a->files.size(); ++i) {
      const std::string& path = a->files[i];
      harness::Result r = run_program(programs[i], path, *a, false);  // checked above
      const std::string text = replay_text(path, r);
      std::fputs(text.c_str(), stdout);
      if (r.violated) rc = 1;
      if (a->repeat > 1 && !same_every_time(path, programs[i], *a, a->repeat, text)) rc = 1;
    }
    return rc;
  };
}

Run add_explain(CLI::App& app) {
  auto a = std::make_shared<ProgramArgs>();
  a->files.resize(1);
  CLI::App* sub = app.add_subcommand(
      "explain",
      "the program, then per op its CPU stores in order with the hardware reads, fills and hits "
      "between them, then the verdict with old/new/observed entries decoded; --svg draws the same "
      "run as a timeline, one lane per actor");
  sub->add_option("FILE", a->files[0], "a program, text or binary")->required()->type_name("");
  add_writer_option(*sub, a->writer, kWriterHelp);
  add_lu_option(*sub, a->lu, kLuHelp);
  add_viommu_option(*sub, a->viommu, kViommuHelp);
  sub->add_option("--svg", a->svg, kSvgHelp)->type_name("OUT");
  return [a] {
    const std::string& path = a->files[0];
    prog::Program p = load_program(path);
    harness::Result r = run_checked(p, path, *a, true);
    if (!a->svg.empty()) write_svg(a->svg, path, p, r);
    std::printf("# program (%s)\n%s\n", who(r).c_str(), prog::to_text(p).c_str());
    std::printf(
        "# execution: per op, the CPU stores as they became visible and what the hardware did\n");
    for (size_t i = 0; i < r.trace.size(); ++i) {
      const harness::OpTrace& t = r.trace[i];
      std::printf("op %zu: %s%s%s\n", i, t.op.c_str(), t.status.empty() ? "" : " -> ",
                  t.status.c_str());
      for (const std::string& l : t.lines()) std::printf("    %s\n", l.c_str());
    }
    std::printf("\n%s", harness::report(r).c_str());
    return r.violated ? 1 : 0;
  };
}

// Op-level minimization with the "same signature" predicate; the text form
// of the result goes to -o OUT (default FILE.min.txt).
Run add_minimize(CLI::App& app) {
  auto a = std::make_shared<ProgramArgs>();
  a->files.resize(1);
  CLI::App* sub =
      app.add_subcommand("minimize", "the smallest program with the same violation signature");
  sub->add_option("FILE", a->files[0], "a program that violates a property")
      ->required()
      ->type_name("");
  sub->add_option("-o", a->out, "where the minimized text form goes (default FILE.min.txt)")
      ->type_name("OUT");
  add_writer_option(*sub, a->writer, kWriterHelp);
  add_lu_option(*sub, a->lu, kLuHelp);
  add_viommu_option(*sub, a->viommu, kViommuHelp);
  sub->add_option("--svg", a->svg, "also draw the minimized program's timeline into the file SVG")
      ->type_name("SVG");
  return [a] {
    const std::string& path = a->files[0];
    prog::Program p = load_program(path);
    harness::Result r = run_checked(p, path, *a, false);
    if (!r.violated)
      throw UsageError(path + ": no violation to keep (it replays clean on " +
                       (r.viommu.empty() ? r.writer : r.viommu) + ")");
    minimize::Stats st;
    prog::Program m = minimize::minimize(
        p, harness::same_signature(r.writer, r.violation.signature, r.viommu, r.lu), &st);
    m.writer = r.writer;
    m.lu = r.lu;
    if (!r.viommu.empty()) m.viommu = r.viommu;
    const std::string out = a->out.empty() ? path + ".min.txt" : a->out;
    harness::Result mr = run_checked(m, out, ProgramArgs{}, !a->svg.empty());
    std::string text = "# minimized from " + path + " (" + std::to_string(st.ops_before) +
                       " ops, " + std::to_string(st.runs) + " runs)\n# " +
                       harness::summary_line(mr) + "\n" + prog::to_text(m);
    std::ofstream f(out, std::ios::binary);
    f << text;
    if (!f) throw UsageError("cannot write '" + out + "'");
    if (!a->svg.empty()) write_svg(a->svg, out, m, mr);
    std::printf("%s: %zu ops -> %zu ops in %u runs, %s %s\n", path.c_str(), st.ops_before,
                st.ops_after, st.runs, oracle::property_name(mr.violation.property), out.c_str());
    return 0;
  };
}

Run add_dict(CLI::App& app) {
  app.add_subcommand("dict",
                     "the engines' dictionary for ops programs, generated from the op table "
                     "(corpus/ops.dict)");
  return [] {
    std::printf("%s", prog::dictionary().c_str());
    return 0;
  };
}

Run add_convert(CLI::App& app) {
  struct Args {
    bool to_text = false, to_binary = false;
    std::string in, out, target = "ops", viommu = "reference";
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand("convert", "between the two program forms");
  CLI::Option_group* form = sub->add_option_group("Form", "exactly one of");
  form->add_flag("--to-text", a->to_text, "write the text form");
  form->add_flag("--to-binary", a->to_binary, "write the binary form");
  form->require_option(1);
  sub->add_option("IN", a->in, "a program, text or binary")->required()->type_name("");
  sub->add_option("OUT", a->out, "where the program goes")->required()->type_name("");
  sub->add_option("--target", a->target,
                  "read a binary IN as this fuzz target does: ops (default), viommu or twolevel "
                  "(a finding of `soak --raw` or a corpus file of those targets)")
      ->type_name("ops|viommu|twolevel")
      ->check(one_of({"ops", "viommu", "twolevel"}));
  sub->add_option("--viommu", a->viommu,
                  "--target viommu|twolevel: the propagator the program names (default reference)")
      ->type_name("NAME");
  return [a] {
    if (a->target != "ops" && a->to_binary)
      throw UsageError("convert: --target " + a->target +
                       " reads that target's bytes; it goes with --to-text");
    if (!vmm::propagator_info(a->viommu))
      throw UsageError("convert: unknown propagator '" + a->viommu + "'");
    prog::Program p;
    if (a->target == "ops") {
      p = load_program(a->in);
    } else {
      // As the target reads it (tools/hunt.h): no header names the
      // propagator, and the guest's writer is the target's default.
      const std::vector<uint8_t> bytes = read_file(a->in);
      HuntSpec s;
      s.target = a->target;
      s.viommu = a->viommu;
      s.writer = a->target == "viommu" ? "-" : "entry-sync";
      p = input_program(std::string(bytes.begin(), bytes.end()), s);
    }
    std::ofstream out(a->out, std::ios::binary);
    if (!out) throw UsageError("cannot write '" + a->out + "': " + std::strerror(errno));
    if (a->to_text) {
      out << prog::to_text(p);
    } else {
      std::vector<uint8_t> b = prog::encode(p);
      out.write(reinterpret_cast<const char*>(b.data()), long(b.size()));
    }
    if (!out) throw UsageError("cannot write '" + a->out + "'");
    return 0;
  };
}

}  // namespace vtd::tools

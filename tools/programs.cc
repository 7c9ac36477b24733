// Program commands: writers, replay, explain, convert.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "driver/writer.h"
#include "targets/harness.h"
#include "prog/minimize.h"
#include "prog/program.h"
#include "tools/commands.h"

namespace vtd::tools {
namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError("cannot read '" + path + "': " + std::strerror(errno));
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

prog::Program load_program(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  prog::Program p;
  std::string err;
  if (!prog::load(bytes, &p, &err)) throw UsageError(path + ": " + err);
  return p;
}

// Splits "--writer W" out of the arguments.
std::string take_writer(Args& args) {
  std::string w;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] != "--writer" && args[i].rfind("--writer=", 0) != 0) continue;
    if (args[i] == "--writer") {
      if (i + 1 >= args.size()) throw UsageError("--writer needs a name");
      w = args[i + 1];
      args.erase(args.begin() + long(i), args.begin() + long(i) + 2);
    } else {
      w = args[i].substr(9);
      args.erase(args.begin() + long(i));
    }
    if (!drv::make_writer(w))
      throw UsageError("unknown writer '" + w + "' (see ./vtdfuzz writers)");
    break;
  }
  for (const std::string& a : args)
    if (a.rfind("--", 0) == 0) throw UsageError("unknown option '" + a + "'");
  return w;
}

harness::Result run_checked(const prog::Program& p, const std::string& path,
                            const std::string& writer, bool trace) {
  harness::Options o;
  o.writer = writer;
  o.trace = trace;
  harness::Result r = harness::run(p, o);
  if (!r.error.empty()) throw UsageError(path + ": " + r.error);
  return r;
}

}  // namespace

int cmd_writers(const Args& args) {
  if (!args.empty()) throw UsageError("writers takes no arguments");
  for (const drv::WriterInfo& w : drv::writers())
    std::printf("%-20.*s %.*s\n", int(w.name.size()), w.name.data(), int(w.summary.size()),
                w.summary.data());
  return 0;
}

int cmd_replay(const Args& in) {
  Args args = in;
  std::string writer = take_writer(args);
  if (args.empty()) throw UsageError("replay needs at least one FILE");
  // Load everything first: a bad file is a usage error before anything runs.
  std::vector<prog::Program> programs;
  for (const std::string& path : args) programs.push_back(load_program(path));
  int rc = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    harness::Result r = run_checked(programs[i], args[i], writer, false);
    if (r.violated) {
      std::printf("%s:\n%s", args[i].c_str(), harness::report(r).c_str());
      rc = 1;
    } else {
      std::printf("%s: clean (writer %s, %u ops)\n", args[i].c_str(), r.writer.c_str(), r.ops_run);
    }
  }
  return rc;
}

int cmd_explain(const Args& in) {
  Args args = in;
  std::string writer = take_writer(args);
  if (args.size() != 1) throw UsageError("explain takes one FILE");
  prog::Program p = load_program(args[0]);
  harness::Result r = run_checked(p, args[0], writer, true);
  std::printf("# program (writer %s)\n%s\n", r.writer.c_str(), prog::to_text(p).c_str());
  std::printf(
      "# execution: per op, the CPU stores as they became visible and what the hardware did\n");
  for (size_t i = 0; i < r.trace.size(); ++i) {
    const harness::OpTrace& t = r.trace[i];
    std::printf("op %zu: %s%s%s\n", i, t.op.c_str(), t.status.empty() ? "" : " -> ",
                t.status.c_str());
    for (const std::string& l : t.lines) std::printf("    %s\n", l.c_str());
  }
  std::printf("\n%s", harness::report(r).c_str());
  return r.violated ? 1 : 0;
}

// Op-level minimization with the "same signature" predicate; the text form
// of the result goes to -o OUT (default FILE.min.txt).
int cmd_minimize(const Args& in) {
  Args args = in;
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] != "-o") continue;
    if (i + 1 >= args.size()) throw UsageError("-o needs a path");
    out = args[i + 1];
    args.erase(args.begin() + long(i), args.begin() + long(i) + 2);
    break;
  }
  std::string writer = take_writer(args);
  if (args.size() != 1) throw UsageError("minimize takes one FILE [-o OUT] [--writer W]");
  const std::string& path = args[0];
  prog::Program p = load_program(path);
  harness::Result r = run_checked(p, path, writer, false);
  if (!r.violated)
    throw UsageError(path + ": no violation to keep (it replays clean on " + r.writer + ")");
  minimize::Stats st;
  prog::Program m =
      minimize::minimize(p, harness::same_signature(r.writer, r.violation.signature), &st);
  m.writer = r.writer;
  if (out.empty()) out = path + ".min.txt";
  harness::Result mr = run_checked(m, out, "", false);
  std::string text = "# minimized from " + path + " (" + std::to_string(st.ops_before) + " ops, " +
                     std::to_string(st.runs) + " runs)\n# " + harness::summary_line(mr) + "\n" +
                     prog::to_text(m);
  std::ofstream f(out, std::ios::binary);
  f << text;
  if (!f) throw UsageError("cannot write '" + out + "'");
  std::printf("%s: %zu ops -> %zu ops in %u runs, %s %s\n", path.c_str(), st.ops_before,
              st.ops_after, st.runs, oracle::property_name(mr.violation.property), out.c_str());
  return 0;
}

int cmd_dict(const Args& args) {
  if (!args.empty()) throw UsageError("dict takes no arguments");
  std::printf("%s", prog::dictionary().c_str());
  return 0;
}

int cmd_convert(const Args& args) {
  if (args.size() != 3 || (args[0] != "--to-text" && args[0] != "--to-binary"))
    throw UsageError("usage: convert --to-text|--to-binary IN OUT");
  prog::Program p = load_program(args[1]);
  std::ofstream out(args[2], std::ios::binary);
  if (!out) throw UsageError("cannot write '" + args[2] + "': " + std::strerror(errno));
  if (args[0] == "--to-text") {
    out << prog::to_text(p);
  } else {
    std::vector<uint8_t> b = prog::encode(p);
    out.write(reinterpret_cast<const char*>(b.data()), long(b.size()));
  }
  if (!out) throw UsageError("cannot write '" + args[2] + "'");
  return 0;
}

}  // namespace vtd::tools

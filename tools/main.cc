// vtdfuzz-cli: the C++ side of the ./vtdfuzz command. Sub-commands are a
// table of {name, one-line help, function}; problems are one line on
// stderr, "vtdfuzz: <problem>", and exit status 2.
#include <cstdio>
#include <exception>
#include <string>

#include "tools/commands.h"

namespace vtd::tools {
namespace {

struct Command {
  const char* name;
  const char* help;
  int (*run)(const Args&);
};

int cmd_help(const Args& args);

constexpr Command kCommands[] = {
    {"bench", "walks per second, cold and warm caches [--iterations N]", cmd_bench},
    {"writers", "every registered writer, one line each", cmd_writers},
    {"replay", "FILE... [--writer W]: run programs; exit 1 on a violation", cmd_replay},
    {"explain", "FILE [--writer W]: the program, its stores and hardware steps, the verdict",
     cmd_explain},
    {"convert", "--to-text|--to-binary IN OUT", cmd_convert},
    {"dict", "the fuzzing dictionary of the ops target (corpus/ops.dict)", cmd_dict},
    {"minimize", "FILE [-o OUT] [--writer W]: the smallest program with the same violation",
     cmd_minimize},
    {"merge",
     "OUT_DIR IN_DIR... [--writer W]: keep the inputs that add coverage (libFuzzer -merge=1)",
     cmd_merge},
    {"coverage", "[DIR...]: source-based coverage of the corpus (out/coverage)", cmd_coverage},
    {"hunt", "--target ops --writer W --time S [--engine libfuzzer|afl] [--empty] [--property P]",
     cmd_hunt},
    {"campaign", "[--time S] [--writers a,b] [--targets ops] [--engine E] [--jobs N]",
     cmd_campaign},
    {"transitions", "--writer W [--kind context|pasid|all] [--emit DIR]: check every interleaving",
     cmd_transitions},
    {"help", "this list", cmd_help},
};

int cmd_help(const Args& args) {
  if (!args.empty()) throw UsageError("help takes no arguments");
  std::printf("usage: vtdfuzz-cli <command> [args]\n");
  for (const Command& c : kCommands) std::printf("  %-10s %s\n", c.name, c.help);
  return 0;
}

int dispatch(int argc, char** argv) {
  if (argc < 2) throw UsageError("missing command (try 'vtdfuzz-cli help')");
  const std::string name = argv[1];
  Args args(argv + 2, argv + argc);
  if (name == "-h" || name == "--help") return cmd_help(args);
  for (const Command& c : kCommands)
    if (name == c.name) return c.run(args);
  throw UsageError("unknown command '" + name + "' (try 'vtdfuzz-cli help')");
}

}  // namespace
}  // namespace vtd::tools

int main(int argc, char** argv) {
  try {
    return vtd::tools::dispatch(argc, argv);
  } catch (const vtd::tools::UsageError& e) {
    std::fprintf(stderr, "vtdfuzz: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vtdfuzz: %s\n", e.what());
    return 1;
  }
}

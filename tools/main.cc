// vtdfuzz-cli: the C++ side of the ./vtdfuzz command, on CLI11: one
// subcommand per command, typed options, help generated from them. Bad
// input is one line on stderr, "vtdfuzz: <problem>", and exit status 2 (CLI11's
// own errors are caught and worded as one line); a violation exits 1, a
// clean run 0.
#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "tools/cli.h"
#include "tools/commands.h"

namespace vtd::tools {
namespace {

constexpr const char* kProgram = "vtdfuzz-cli";

// In the order of tools/commands.def: the order of `vtdfuzz-cli help`.
Run (*const kCommands[])(CLI::App&) = {
#define VTDFUZZ_COMMAND(name) add_##name,
#include "tools/commands.def"
#undef VTDFUZZ_COMMAND
};

bool is_command(const CLI::App& app, const std::string& name) {
  return !name.empty() &&
         !app.get_subcommands([&](const CLI::App* s) { return s->get_name() == name; }).empty();
}

int run(int argc, char** argv) {
  CLI::App app("The C++ side of ./vtdfuzz: fuzzing, replaying and checking VT-d entry writers.",
               kProgram);
  app.formatter(help_formatter());
  app.set_help_flag("-h,--help", "this help");
  app.require_subcommand(0, 1);
  std::map<std::string, Run> runs;
  for (auto add : kCommands) {
    Run r = add(app);
    CLI::App* sub = app.get_subcommands([](CLI::App*) { return true; }).back();
    sub->group("Commands");
    runs[sub->get_name()] = r;
  }
  std::string topic;
  CLI::App* help = app.add_subcommand("help", "this list, or the options of one command");
  help->group("Commands");
  help->add_option("COMMAND", topic, "a command")->type_name("");

  if (argc < 2) throw UsageError("missing command (try 'vtdfuzz-cli help')");
  const std::string first = argv[1];
  if (first[0] != '-' && !is_command(app, first))
    throw UsageError("unknown command '" + first + "' (try 'vtdfuzz-cli help')");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success&) {  // --help: of the command it follows
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    throw UsageError(error_line(e, app));
  }
  if (help->parsed()) {
    if (!topic.empty() && !is_command(app, topic))
      throw UsageError("unknown command '" + topic + "' (try 'vtdfuzz-cli help')");
    const CLI::App* of = topic.empty() ? &app : app.get_subcommand(topic);
    std::printf("%s", help_text(*of, topic.empty() ? kProgram : kProgram + (" " + topic)).c_str());
    return 0;
  }
  for (const CLI::App* sub : app.get_subcommands()) return runs.at(sub->get_name())();
  throw UsageError("missing command (try 'vtdfuzz-cli help')");
}

}  // namespace
}  // namespace vtd::tools

int main(int argc, char** argv) {
  try {
    return vtd::tools::run(argc, argv);
  } catch (const vtd::tools::UsageError& e) {
    std::fprintf(stderr, "vtdfuzz: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vtdfuzz: %s\n", e.what());
    return 1;
  }
}

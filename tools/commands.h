// Sub-commands of vtdfuzz-cli. Each add_* defines its subcommand on the
// top-level CLI11 app (options, help) and returns what runs it once the
// command line is parsed: the process exit code. Bad input found while
// running is reported through UsageError (one line, exit 2).
#pragma once

#include <functional>
#include <stdexcept>

namespace CLI {
class App;
}

namespace vtd::tools {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using Run = std::function<int()>;

// add_campaign, add_hunt, ...: one per row of tools/commands.def.
#define VTDFUZZ_COMMAND(name) Run add_##name(CLI::App& app);
#include "tools/commands.def"
#undef VTDFUZZ_COMMAND

}  // namespace vtd::tools

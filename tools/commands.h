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

Run add_campaign(CLI::App& app);
Run add_hunt(CLI::App& app);
Run add_replay(CLI::App& app);
Run add_explain(CLI::App& app);
Run add_minimize(CLI::App& app);
Run add_transitions(CLI::App& app);
Run add_merge(CLI::App& app);
Run add_coverage(CLI::App& app);
Run add_convert(CLI::App& app);
Run add_writers(CLI::App& app);
Run add_propagators(CLI::App& app);
Run add_dict(CLI::App& app);
Run add_bench(CLI::App& app);

}  // namespace vtd::tools

// Sub-commands of vtdfuzz-cli. Each returns the process exit code; bad
// arguments are reported through UsageError (one line, exit 2).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace vtd::tools {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using Args = std::vector<std::string>;

int cmd_bench(const Args& args);
int cmd_writers(const Args& args);
int cmd_replay(const Args& args);
int cmd_explain(const Args& args);
int cmd_convert(const Args& args);
int cmd_dict(const Args& args);
int cmd_minimize(const Args& args);
int cmd_merge(const Args& args);
int cmd_coverage(const Args& args);
int cmd_hunt(const Args& args);
int cmd_campaign(const Args& args);
int cmd_transitions(const Args& args);

}  // namespace vtd::tools

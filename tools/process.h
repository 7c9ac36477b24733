// Running the fuzzing engines as child processes: output to a log file,
// a wall-clock limit as a safety net, the elapsed time measured.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vtd::tools {

struct ProcResult {
  int status = -1;     // exit code, or 128+signal
  double seconds = 0;  // wall time from start to exit
  double cpu = 0;      // the child's user + system CPU time (what it got of a loaded machine)
  std::string log;     // everything the child wrote to stdout and stderr
};

// Called for every line the child prints, with the seconds since it
// started; returning true stops the child.
using LineFn = std::function<bool(const std::string& line, double t)>;

// Runs argv with extra environment variables (NAME=value); kills its process
// group after `limit` seconds (0: none) or when `on_line` says so. The
// output also goes to `log_path`.
ProcResult run_process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       double limit, const std::string& log_path, const LineFn& on_line = {});

// The repository root: $VTDFUZZ_ROOT, else the current directory.
std::string repo_root();
bool file_exists(const std::string& p);
void make_dirs(const std::string& p);
void remove_tree(const std::string& p);
std::vector<std::string> list_dir(const std::string& p);  // sorted names, no dot entries
std::string read_text(const std::string& p);
void write_bytes(const std::string& p, const std::vector<uint8_t>& b);
void write_text(const std::string& p, const std::string& s);

}  // namespace vtd::tools

#include "tools/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tools/commands.h"

namespace vtd::tools {

namespace fs = std::filesystem;

ProcResult run_process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       double limit, const std::string& log_path, const LineFn& on_line) {
  ProcResult r;
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    setpgid(0, 0);
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  std::ofstream log(log_path, std::ios::binary);
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::string pending;
  bool stop = false;
  char buf[65536];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    int n = poll(&p, 1, 100);
    if (n > 0) {
      ssize_t got = read(fds[0], buf, sizeof buf);
      if (got <= 0) break;  // the child closed its output: it is exiting
      // Flushed as it comes: `tail -f` of a running hunt's or soak's
      // fuzz.log shows the engine's last line, not one 8 KB behind.
      log.write(buf, got).flush();
      r.log.append(buf, size_t(got));
      pending.append(buf, size_t(got));
      for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (on_line && !stop && on_line(line, elapsed())) stop = true;
      }
    }
    if (stop || (limit > 0 && elapsed() > limit)) {
      kill(-pid, SIGKILL);
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  r.cpu = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
          double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  r.seconds = elapsed();
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string repo_root() {
  const char* r = getenv("VTDFUZZ_ROOT");
  return r && *r ? r : fs::current_path().string();
}

bool file_exists(const std::string& p) {
  return fs::exists(p);
}
void make_dirs(const std::string& p) {
  fs::create_directories(p);
}
void remove_tree(const std::string& p) {
  fs::remove_all(p);
}

std::vector<std::string> list_dir(const std::string& p) {
  std::vector<std::string> v;
  if (!fs::is_directory(p)) return v;
  for (const auto& e : fs::directory_iterator(p)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

std::string read_text(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_bytes(const std::string& p, const std::vector<uint8_t>& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), long(b.size()));
  if (!f) throw UsageError("cannot write '" + p + "'");
}

void write_text(const std::string& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary);
  f << s;
  if (!f) throw UsageError("cannot write '" + p + "'");
}

}  // namespace vtd::tools

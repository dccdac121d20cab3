// Runs the built migcheck binary for end-to-end tests.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "noncopyable.h"
#include "server_fixture.h"

namespace migcheck::test {

inline ProcessResult run_migcheck(std::vector<std::string> args,
                                  const std::vector<std::pair<std::string, std::string>>& env = {},
                                  std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  args.insert(args.begin(), MIGCHECK_BINARY);
  return run_process(args, timeout, env);
}

// migcheck in a child process, stdout/stderr to files, for tests that
// signal it mid-run (run_process does not expose the pid). Killed (SIGKILL)
// if still running when destroyed. other_program: args[0] is another
// program's path (a server the test needs beside migcheck).
class Spawned : NonCopyable {
 public:
  Spawned(std::vector<std::string> args, std::string out, std::string err,
          bool other_program = false)
      : out_(std::move(out)), err_(std::move(err)) {
    if (!other_program) args.insert(args.begin(), MIGCHECK_BINARY);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int in = ::open("/dev/null", O_RDONLY);
      const int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (in < 0 || o < 0 || e < 0) ::_exit(127);
      ::dup2(in, 0);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Spawned() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // Exit code, or 128 + signal; -1 if it did not end within `timeout` (then killed).
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0 && std::chrono::steady_clock::now() < until) {
      sample_rss();
      if (!running()) return exit_code_;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pid_ == 0 ? exit_code_ : -1;
  }
  // Whether the child has not exited yet (an exited one is reaped: wait()
  // then returns its exit code at once).
  bool running() {
    int status = 0;
    if (pid_ <= 0 || ::waitpid(pid_, &status, WNOHANG) != pid_) return pid_ > 0;
    pid_ = 0;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  // The peak resident set of migcheck (VmHWM), as last sampled by wait();
  // -1 if never sampled. Not rusage: a forked child's ru_maxrss counts the
  // test process's own memory, copied at fork, before the exec.
  long max_rss_kb() const { return max_rss_kb_; }
  const std::string& out_path() const { return out_; }
  const std::string& err_path() const { return err_; }

 private:
  // VmHWM of the process once it runs migcheck (a high-water mark, so a
  // sample after the peak has it).
  void sample_rss() {
    static const std::filesystem::path binary = std::filesystem::canonical(MIGCHECK_BINARY);
    const std::string proc = "/proc/" + std::to_string(pid_);
    std::error_code ec;
    if (std::filesystem::read_symlink(proc + "/exe", ec) != binary) return;
    std::ifstream status(proc + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmHWM:", 0) == 0)
        max_rss_kb_ = std::max(max_rss_kb_, std::stol(line.substr(6)));
  }

  std::string out_, err_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  long max_rss_kb_ = -1;
};

}  // namespace migcheck::test

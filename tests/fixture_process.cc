// Child processes of the test fixtures: spawning (prepared before fork()),
// the last-resort cleanup of live servers, file helpers, run_process().
#include "fixture_internal.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace migcheck::test {

using namespace internal;

namespace internal {

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

std::string read_file(const std::string& path, long long offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(offset);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

long long file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : 0;
}

std::string last_lines(const std::string& text, int n) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  size_t first = lines.size() > static_cast<size_t>(n) ? lines.size() - static_cast<size_t>(n) : 0;
  std::string out;
  for (size_t i = first; i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

std::string make_temp_dir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error(errno_text("mkdtemp " + tmpl));
  return tmpl;
}

// redis.conf argument quoting (sdssplitargs understands these escapes).
std::string conf_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
// ---------------------------------------------------------------------------
// Live child processes. Destructors normally stop servers; this registry is the
// last resort for exit() and std::terminate(), where destructors do not run.

struct LiveProcesses {
  std::mutex mu;
  std::map<pid_t, std::string> dirs;  // pid -> temp dir to remove ("" for none)
};

LiveProcesses& live() {
  static auto* l = new LiveProcesses;  // never destroyed: used from atexit
  return *l;
}

void kill_all_live(bool wait_for_lock) noexcept {
  auto& l = live();
  std::unique_lock lock(l.mu, std::defer_lock);
  if (wait_for_lock) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return;  // the dying thread may hold it; PR_SET_PDEATHSIG still kills them
  }
  for (auto& [pid, dir] : l.dirs) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
  l.dirs.clear();
}

std::terminate_handler previous_terminate = nullptr;

void install_last_resort_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::atexit([] { kill_all_live(true); });
    previous_terminate = std::set_terminate([] {
      kill_all_live(false);
      if (previous_terminate) previous_terminate();
      std::abort();
    });
  });
}

void register_live(pid_t pid, const std::string& dir) {
  install_last_resort_handlers();
  std::lock_guard lock(live().mu);
  live().dirs[pid] = dir;
}

void unregister_live(pid_t pid) {
  std::lock_guard lock(live().mu);
  live().dirs.erase(pid);
}

// ---------------------------------------------------------------------------
// Spawning. Everything the child touches is prepared before fork(), because
// only async-signal-safe calls are allowed between fork() and exec().

struct CStrings {
  explicit CStrings(const std::vector<std::string>& v) {
    for (const auto& s : v) ptrs.push_back(const_cast<char*>(s.c_str()));
    ptrs.push_back(nullptr);
  }
  std::vector<char*> ptrs;
};

std::vector<std::string> merged_env(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    bool overridden = std::any_of(extra.begin(), extra.end(), [&](const auto& p) {
      return kv.size() > p.first.size() && kv.substr(0, p.first.size()) == p.first &&
             kv[p.first.size()] == '=';
    });
    if (!overridden) env.emplace_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

// Forks and execs argv with the given stdio fds; throws if exec fails.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int in_fd,
            int out_fd, int err_fd) {
  CStrings cargv(argv), cenv(env);
  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe2"));
  UniqueFd err_read(errpipe[0]), err_write(errpipe[1]);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(errno_text("fork"));
  if (pid == 0) {
    // Die with the test process even if it crashes or is SIGKILLed (ctest timeout).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    // Other code in the test process (hiredis, ...) may open fds without
    // O_CLOEXEC; a server holding a client's socket would hide its close.
    int keep = errpipe[1];
    if (keep > 3) ::close_range(3, static_cast<unsigned>(keep) - 1, 0);
    ::close_range(static_cast<unsigned>(keep) + 1, ~0U, 0);
    ::execvpe(cargv.ptrs[0], cargv.ptrs.data(), cenv.ptrs.data());
    int err = errno;
    ssize_t ignored = ::write(keep, &err, sizeof err);
    (void)ignored;
    ::_exit(127);
  }
  err_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    ::waitpid(pid, nullptr, 0);
    throw std::runtime_error(errno_text("cannot execute " + argv[0], child_errno));
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace internal

ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::vector<std::pair<std::string, std::string>>& env) {
  if (argv.empty()) throw std::invalid_argument("run_process: empty argv");
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe2"));
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe2"));
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));

  pid_t pid = spawn(argv, merged_env(env), devnull.get(), out_w.get(), err_w.get());
  out_w.reset();
  err_w.reset();

  ProcessResult result;
  const auto deadline = Clock::now() + timeout;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out_open ? out_r.get() : -1, POLLIN, 0},
                     {err_open ? err_r.get() : -1, POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char chunk[8192];
      ssize_t got = ::read(fds[i].fd, chunk, sizeof chunk);
      if (got > 0) {
        (i == 0 ? result.out : result.err).append(chunk, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        (i == 0 ? out_open : err_open) = false;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = decode_status(status);
  return result;
}

}  // namespace migcheck::test

// Shared internals of the test fixtures' implementation (server_fixture.cc,
// test_cluster.cc, tls_material.cc, fixture_process.cc, fixture_client.cc):
// timeouts, file and fd helpers, child processes and the private RESP
// client. Not for tests: they use server_fixture.h.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "server_fixture.h"

namespace migcheck::test::internal {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kStartTimeout = 10s;
constexpr auto kStopGrace = 5s;
constexpr auto kCommandTimeout = 30s;
// Short, so a foreign listener that accepted but never answers cannot stall startup.
constexpr auto kProbeTimeout = 1s;
constexpr size_t kPipelineBatch = 1000;

std::string errno_text(const std::string& what, int err = errno);

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Files.
std::string read_file(const std::string& path, long long offset = 0);
void write_file(const std::string& path, const std::string& data);
long long file_size(const std::string& path);
std::string last_lines(const std::string& text, int n);
std::string make_temp_dir(const std::string& prefix);
// redis.conf argument quoting (sdssplitargs understands these escapes).
std::string conf_quote(const std::string& s);

// Live child processes, killed (and their dirs removed) at exit() and
// std::terminate() if their owners did not stop them.
void register_live(pid_t pid, const std::string& dir);
void unregister_live(pid_t pid);

// The environment with `extra` added or overriding.
std::vector<std::string> merged_env(const std::vector<std::pair<std::string, std::string>>& extra);
// Forks and execs argv with the given stdio fds; throws if exec fails.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int in_fd,
            int out_fd, int err_fd);
// Exit code, 128 + signal, or -1.
int decode_status(int status);

// The private RESP client.
struct ConnectionClosed : std::runtime_error {
  ConnectionClosed() : std::runtime_error("server closed the connection") {}
};
// One fresh connection: AUTH with `password` when non-empty, then cmds.
std::vector<Reply> exchange(const std::string& unix_path, int port, const std::string& password,
                            const std::vector<std::vector<std::string>>& cmds,
                            std::chrono::seconds timeout);
// A command for messages: its arguments, long ones cut.
std::string describe(const std::vector<std::string>& args);

// The CLI matching a server (redis-cli, valkey-cli, an engine's wrapper), and
// its TLS flags and environment for a server's options.
std::string cli_for(const std::string& server_binary);
std::vector<std::string> cli_tls_args(const ServerOptions& o);
std::vector<std::pair<std::string, std::string>> cli_env(const ServerOptions& o);
// INFO text -> field: value.
std::map<std::string, std::string> parse_info(const std::string& text);

}  // namespace migcheck::test::internal

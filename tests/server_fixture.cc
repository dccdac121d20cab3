// TestServer: one real redis-server / valkey-server on loopback in its own
// temp dir; free ports, engine binaries and the CLI beside a server.
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

namespace migcheck::test {

using namespace internal;

namespace internal {

// ---------------------------------------------------------------------------

std::string cli_for(const std::string& server_binary) {
  // Engine wrappers: ".../redis-server-8.0" -> ".../redis-cli-8.0".
  const auto slash = server_binary.rfind('/');
  const auto at = server_binary.rfind("-server-");
  if (at != std::string::npos && (slash == std::string::npos || at > slash))
    return server_binary.substr(0, at) + "-cli" + server_binary.substr(at + 7);
  const std::string suffix = "-server";
  if (server_binary.size() > suffix.size() &&
      server_binary.compare(server_binary.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return server_binary.substr(0, server_binary.size() - suffix.size()) + "-cli";
  }
  return "redis-cli";
}

std::vector<std::string> cli_tls_args(const ServerOptions& o) {
  if (!o.tls) return {};
  const auto& m = tls_material();
  return {"--tls", "--cacert", m.ca_cert, "--cert", m.client_cert, "--key", m.client_key};
}

std::vector<std::pair<std::string, std::string>> cli_env(const ServerOptions& o) {
  if (o.password.empty()) return {};
  return {{"REDISCLI_AUTH", o.password}};  // unlike -a, prints no warning
}

bool can_bind(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

std::map<std::string, std::string> parse_info(const std::string& text) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon != std::string::npos) kv[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return kv;
}

}  // namespace internal

int free_port() {
  // Below the ephemeral range (32768+) including the bus port, so outgoing
  // connections cannot grab the port between this check and the server's bind.
  constexpr int kLow = 10000, kHigh = 22700;
  static std::mutex mu;
  static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()) ^
                          static_cast<unsigned>(Clock::now().time_since_epoch().count()));
  static std::set<int> handed_out;  // never hand the same port out twice in one process
  std::lock_guard lock(mu);
  std::uniform_int_distribution<int> dist(kLow, kHigh);
  for (int attempt = 0; attempt < 500; ++attempt) {
    int port = dist(rng);
    if (handed_out.count(port)) continue;
    if (can_bind(port) && can_bind(port + 10000)) {
      handed_out.insert(port);
      return port;
    }
  }
  throw std::runtime_error("free_port: no free loopback port found");
}

static std::string engines_dir() {
  if (const char* d = std::getenv("MIGCHECK_ENGINES_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/migcheck-engines";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/root") + "/.cache/migcheck-engines";
}

std::string engine_binary(std::string_view engine) {
  std::string path;
  if (engine == "redis-7.0")
    path = "redis-server";
  else if (engine == "valkey-8.0")
    path = "valkey-server";
  else if (engine == "redis-8.0")
    path = engines_dir() + "/bin/redis-server-8.0";
  else if (engine == "valkey-8.1")
    path = engines_dir() + "/bin/valkey-server-8.1";
  return have_binary(path) ? path : "";
}

bool missing_engine_is_error() {
  const char* ci = std::getenv("CI");
  return ci && (std::string_view(ci) == "true" || std::string_view(ci) == "1");
}

bool have_binary(const std::string& name) {
  if (name.empty()) return false;
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// TestServer

TestServer::TestServer(ServerOptions opts) : opts_(std::move(opts)) {
  dir_ = make_temp_dir("migcheck-srv");
  try {
    // TLS servers get a unix socket too: the private client speaks no TLS.
    if (opts_.unix_socket || opts_.tls) {
      sock_path_ = dir_ + "/redis.sock";
      if (sock_path_.size() >= sizeof(sockaddr_un::sun_path)) {
        throw std::runtime_error("unix socket path too long (set a shorter TMPDIR): " + sock_path_);
      }
    }
    if (opts_.tls) tls_material();
    start(false);
  } catch (...) {
    kill9();  // no destructor runs for a half-constructed server
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

TestServer::~TestServer() {
  try {
    stop();
  } catch (...) {
    kill9();
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string TestServer::uri() const {
  return std::string(opts_.tls ? "rediss" : "redis") + "://127.0.0.1:" + std::to_string(port_);
}

std::string TestServer::unix_path() const {
  return sock_path_;
}

std::string TestServer::log_path() const {
  return dir_ + "/server.log";
}

std::string TestServer::cli_binary() const {
  return cli_for(opts_.binary);
}

std::string TestServer::log_tail(int lines) const {
  std::string tail;
  for (const std::string name : {"server.log", "stdout.log"}) {
    std::string text = last_lines(read_file(dir_ + "/" + name), lines);
    if (!text.empty()) tail += "--- " + dir_ + "/" + name + ":\n" + text;
  }
  return tail.empty() ? "(no server output)\n" : tail;
}

bool TestServer::running() const {
  if (pid_ <= 0) return false;
  siginfo_t info{};
  // WNOWAIT: only look; reaping is left to stop()/kill9().
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return false;
  }
  return info.si_pid == 0;
}

void TestServer::write_config() const {
  std::ostringstream c;
  c << "# written by tests/server_fixture.cc\n";
  if (opts_.tls) {
    const auto& m = tls_material();
    c << "port 0\n"
      << "tls-port " << port_ << "\n"
      << "tls-cert-file " << conf_quote(m.server_cert) << "\n"
      << "tls-key-file " << conf_quote(m.server_key) << "\n"
      << "tls-ca-cert-file " << conf_quote(m.ca_cert) << "\n"
      << "tls-auth-clients " << (opts_.tls_auth_clients ? "yes" : "no") << "\n"
      << "tls-replication yes\n";
    if (opts_.cluster) c << "tls-cluster yes\n";
  } else {
    c << "port " << port_ << "\n";
  }
  c << "bind 127.0.0.1\n"
    << "protected-mode " << (opts_.password.empty() ? "no" : "yes") << "\n"
    << "daemonize no\n"
    << "save \"\"\n"
    << "appendonly no\n"
    << "dir " << conf_quote(dir_) << "\n"
    << "logfile " << conf_quote(log_path()) << "\n";
  if (!sock_path_.empty()) {
    c << "unixsocket " << conf_quote(sock_path_) << "\n"
      << "unixsocketperm 700\n";
  }
  if (opts_.enable_debug) c << "enable-debug-command yes\n";
  if (!opts_.password.empty()) c << "requirepass " << conf_quote(opts_.password) << "\n";
  for (const auto& rule : opts_.acl_users) {
    c << (rule.rfind("user ", 0) == 0 ? "" : "user ") << rule << "\n";
  }
  for (const auto& name : opts_.rename_away) c << "rename-command " << name << " \"\"\n";
  if (!opts_.maxmemory.empty()) c << "maxmemory " << opts_.maxmemory << "\n";
  if (opts_.cluster) {
    c << "cluster-enabled yes\n"
      << "cluster-config-file " << conf_quote(dir_ + "/nodes.conf") << "\n"
      << "cluster-node-timeout 5000\n";
  }
  for (const auto& [name, value] : opts_.config) {
    c << name << " " << (value.empty() ? "\"\"" : value) << "\n";
  }
  write_file(dir_ + "/redis.conf", c.str());
}

void TestServer::start(bool keep_port) {
  constexpr int kAttempts = 6;
  for (int attempt = 1;; ++attempt) {
    if (!keep_port) port_ = free_port();
    write_config();
    const long long log_offset = file_size(log_path());
    UniqueFd out(
        ::open((dir_ + "/stdout.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (out.get() < 0 || devnull.get() < 0) throw std::runtime_error(errno_text("open"));
    std::vector<std::pair<std::string, std::string>> env;
    if (opts_.clock_offset_ms != 0)
      env = {{"LD_PRELOAD", MIGCHECK_FAKETIME_SHIM},
             {"MIGCHECK_FAKETIME_OFFSET_MS", std::to_string(opts_.clock_offset_ms)}};
    pid_ = spawn({opts_.binary, dir_ + "/redis.conf"}, merged_env(env), devnull.get(), out.get(),
                 out.get());
    register_live(pid_, dir_);
    if (wait_ready(log_offset)) return;
    if (attempt == kAttempts) {
      throw std::runtime_error(opts_.binary + ": port " + std::to_string(port_) +
                               " stayed in use; log:\n" + log_tail());
    }
    // Someone else took the port (another test process); on restart() it may
    // be a moment before the old socket is gone.
    std::this_thread::sleep_for(keep_port ? 200ms : 10ms);
  }
}

bool TestServer::wait_ready(long long log_offset) {
  const auto deadline = Clock::now() + kStartTimeout;
  std::string last_error;
  while (Clock::now() < deadline) {
    if (!running()) {
      reap(true);
      std::string log = read_file(log_path(), log_offset) + read_file(dir_ + "/stdout.log");
      if (log.find("Address already in use") != std::string::npos) return false;
      throw std::runtime_error(opts_.binary + " exited during startup (port " +
                               std::to_string(port_) + "); log:\n" + log_tail());
    }
    try {
      const Reply info =
          exchange(sock_path_, port_, opts_.password, {{"INFO", "server"}}, kProbeTimeout).front();
      if (!info.is_error()) {
        // The port may answer from another test's server that won the race for it.
        auto kv = parse_info(info.str);
        if (kv["process_id"] == std::to_string(pid_)) return true;
        last_error = "port answered by pid " + kv["process_id"];
      } else if (info.str.rfind("LOADING", 0) != 0) {
        return true;  // INFO renamed away or forbidden: the server is up anyway
      }
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    std::this_thread::sleep_for(10ms);
  }
  kill9();
  throw std::runtime_error(opts_.binary + " did not become ready within 10 s (" + last_error +
                           "); log:\n" + log_tail());
}

void TestServer::reap(bool block) {
  if (pid_ <= 0) return;
  int status;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return;
  unregister_live(pid_);
  pid_ = -1;
}

void TestServer::stop() {
  if (pid_ <= 0) return;
  // SIGTERM is only acted on by the next serverCron tick (~100 ms at hz 10);
  // SHUTDOWN exits at once. NOW FORCE: do not wait for replicas, ignore errors.
  bool shutting_down = false;
  try {
    exchange(sock_path_, port_, opts_.password, {{"SHUTDOWN", "NOSAVE", "NOW", "FORCE"}},
             kProbeTimeout);
  } catch (const ConnectionClosed&) {
    shutting_down = true;
  } catch (const std::exception&) {
  }
  if (!shutting_down) ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + kStopGrace;
  while (pid_ > 0 && Clock::now() < deadline) {
    reap(false);
    if (pid_ > 0) std::this_thread::sleep_for(2ms);
  }
  kill9();
}

void TestServer::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

void TestServer::restart() {
  stop();
  start(true);
}

Reply TestServer::reply(const std::vector<std::string>& args) {
  return replies({args}).front();
}

std::string TestServer::cmd(const std::vector<std::string>& args) {
  return reply(args).text();
}

std::vector<Reply> TestServer::replies(const Cmds& cmds, Auth auth) {
  return exchange(sock_path_, port_, auth == Auth::Password ? opts_.password : std::string(), cmds,
                  kCommandTimeout);
}

void TestServer::pipeline(const Cmds& cmds, bool throw_on_error) {
  std::vector<Reply> r = replies(cmds);
  if (!throw_on_error) return;
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].is_error()) {
      throw std::runtime_error("pipeline command #" + std::to_string(i) + " (" + describe(cmds[i]) +
                               ") failed: " + r[i].str);
    }
  }
}

ProcessResult TestServer::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {cli_binary(), "-h", host(), "-p", std::to_string(port_)};
  for (auto& a : cli_tls_args(opts_)) argv.push_back(std::move(a));
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, 60s, cli_env(opts_));
}

long long TestServer::commands_called() {
  long long calls = 0;
  std::istringstream in(cmd({"INFO", "commandstats"}));
  for (std::string line; std::getline(in, line);) {
    const auto at = line.find("calls=");
    if (line.rfind("cmdstat_", 0) == 0 && at != std::string::npos)
      calls += std::stoll(line.substr(at + 6));
  }
  return calls;
}

std::string TestServer::debug_digest() {
  Reply r = reply({"DEBUG", "DIGEST"});
  if (r.is_error() || r.is_nil()) throw std::runtime_error("DEBUG DIGEST: " + r.text());
  return r.str;
}

std::string TestServer::debug_digest_value(const std::string& key) {
  Reply r = reply({"DEBUG", "DIGEST-VALUE", key});
  if (r.type != Reply::Type::Array || r.elements.size() != 1) {
    throw std::runtime_error("DEBUG DIGEST-VALUE: " + r.text());
  }
  return r.elements.front().str;
}

}  // namespace migcheck::test

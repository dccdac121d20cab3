// Implementation of the real-server test fixtures: process spawning and the
// last-resort cleanup of live servers, the private blocking RESP client, TLS
// material generation, TestServer and TestCluster.
#include "server_fixture.h"

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
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kStartTimeout = 10s;
constexpr auto kStopGrace = 5s;
constexpr auto kCommandTimeout = 30s;
// Short, so a foreign listener that accepted but never answers cannot stall startup.
constexpr auto kProbeTimeout = 1s;
constexpr size_t kPipelineBatch = 1000;

std::string errno_text(const std::string& what, int err = errno) {
  return what + ": " + std::strerror(err);
}

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

std::string read_file(const std::string& path, long long offset = 0) {
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

// ---------------------------------------------------------------------------
// The private RESP client.

struct ConnectionClosed : std::runtime_error {
  ConnectionClosed() : std::runtime_error("server closed the connection") {}
};

class Connection {
 public:
  // Connects to the unix socket when one is given, else to 127.0.0.1:port.
  // Reads and writes fail after `timeout` instead of hanging a test.
  static Connection open(const std::string& unix_path, int port, std::chrono::seconds timeout) {
    const bool is_unix = !unix_path.empty();
    UniqueFd fd(::socket(is_unix ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw std::runtime_error(errno_text("socket"));
    sockaddr_storage storage{};
    socklen_t len;
    if (is_unix) {
      auto* addr = reinterpret_cast<sockaddr_un*>(&storage);
      addr->sun_family = AF_UNIX;
      std::memcpy(addr->sun_path, unix_path.c_str(), unix_path.size() + 1);
      len = sizeof(sockaddr_un);
    } else {
      auto* addr = reinterpret_cast<sockaddr_in*>(&storage);
      addr->sin_family = AF_INET;
      addr->sin_port = htons(static_cast<uint16_t>(port));
      addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof(sockaddr_in);
    }
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&storage), len) != 0) {
      throw std::runtime_error(
          errno_text("connect " + (is_unix ? unix_path : "127.0.0.1:" + std::to_string(port))));
    }
    int one = 1;
    if (!is_unix) ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return Connection(std::move(fd));
  }

  void send(const std::vector<std::vector<std::string>>& cmds, size_t begin, size_t end) {
    std::string out;
    for (size_t i = begin; i < end; ++i) {
      out += "*" + std::to_string(cmds[i].size()) + "\r\n";
      for (const auto& arg : cmds[i]) {
        out += "$" + std::to_string(arg.size()) + "\r\n";
        out += arg;
        out += "\r\n";
      }
    }
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::send(fd_.get(), out.data() + done, out.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error(errno_text("send to server"));
      done += static_cast<size_t>(n);
    }
  }

  Reply read_reply() {
    const char type = byte();
    std::string line = read_line();
    Reply r;
    switch (type) {
      case '+':
        r.type = Reply::Type::Status;
        r.str = std::move(line);
        return r;
      case '-':
        r.type = Reply::Type::Error;
        r.str = std::move(line);
        return r;
      case ':':
        r.type = Reply::Type::Integer;
        r.integer = std::stoll(line);
        return r;
      case '#':
        r.type = Reply::Type::Integer;
        r.integer = line == "t" ? 1 : 0;
        return r;
      case ',':
      case '(':
        r.type = Reply::Type::Bulk;
        r.str = std::move(line);
        return r;
      case '_':
        return r;
      case '$':
      case '=':
      case '!': {
        long long len = std::stoll(line);
        if (len < 0) return r;
        r.str = read_exact(static_cast<size_t>(len));
        if (read_exact(2) != "\r\n") throw std::runtime_error("RESP: bad bulk terminator");
        r.type = type == '!' ? Reply::Type::Error : Reply::Type::Bulk;
        if (type == '=') r.str.erase(0, std::min<size_t>(4, r.str.size()));  // "txt:"
        return r;
      }
      case '*':
      case '~':
      case '>':
      case '%':
      case '|': {
        long long n = std::stoll(line);
        if (n < 0) return r;
        if (type == '%' || type == '|') n *= 2;
        r.type = Reply::Type::Array;
        for (long long i = 0; i < n; ++i) r.elements.push_back(read_reply());
        if (type == '|') return read_reply();  // attributes annotate the next reply
        return r;
      }
      default:
        throw std::runtime_error(std::string("RESP: unexpected type byte '") + type + "'");
    }
  }

 private:
  explicit Connection(UniqueFd fd) : fd_(std::move(fd)) {}

  void fill() {
    if (pos_ > 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    char chunk[16384];
    ssize_t n;
    do {
      n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    } while (n < 0 && errno == EINTR);
    if (n == 0) throw ConnectionClosed();
    if (n < 0) throw std::runtime_error(errno_text("read from server"));
    buf_.append(chunk, static_cast<size_t>(n));
  }

  char byte() {
    while (pos_ >= buf_.size()) fill();
    return buf_[pos_++];
  }

  std::string read_line() {
    size_t crlf;
    while ((crlf = buf_.find("\r\n", pos_)) == std::string::npos) fill();
    std::string line = buf_.substr(pos_, crlf - pos_);
    pos_ = crlf + 2;
    return line;
  }

  std::string read_exact(size_t n) {
    while (buf_.size() - pos_ < n) fill();
    std::string s = buf_.substr(pos_, n);
    pos_ += n;
    return s;
  }

  UniqueFd fd_;
  std::string buf_;
  size_t pos_ = 0;
};

// Sends cmds in batches so neither side's socket buffers can fill up unread.
std::vector<Reply> run_pipelined(Connection& conn,
                                 const std::vector<std::vector<std::string>>& cmds) {
  std::vector<Reply> out;
  out.reserve(cmds.size());
  for (size_t begin = 0; begin < cmds.size(); begin += kPipelineBatch) {
    size_t end = std::min(cmds.size(), begin + kPipelineBatch);
    conn.send(cmds, begin, end);
    for (size_t i = begin; i < end; ++i) out.push_back(conn.read_reply());
  }
  return out;
}

// One fresh connection: AUTH with `password` when non-empty, then cmds.
std::vector<Reply> exchange(const std::string& unix_path, int port, const std::string& password,
                            const std::vector<std::vector<std::string>>& cmds,
                            std::chrono::seconds timeout) {
  Connection conn = Connection::open(unix_path, port, timeout);
  if (!password.empty()) {
    conn.send({{"AUTH", password}}, 0, 1);
    Reply r = conn.read_reply();
    if (r.is_error()) throw std::runtime_error("AUTH failed: " + r.str);
  }
  return run_pipelined(conn, cmds);
}

std::string describe(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) {
    if (!s.empty()) s += ' ';
    s += a.size() > 40 ? a.substr(0, 40) + "..." : a;
  }
  return s;
}

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

}  // namespace

// ---------------------------------------------------------------------------

std::string Reply::text() const {
  switch (type) {
    case Type::Status:
    case Type::Bulk:
      return str;
    case Type::Error:
      return "(error) " + str;
    case Type::Integer:
      return std::to_string(integer);
    case Type::Nil:
      return "(nil)";
    case Type::Array: {
      std::string out;
      for (size_t i = 0; i < elements.size(); ++i) {
        if (i > 0) out += '\n';
        out += elements[i].text();
      }
      return out;
    }
  }
  return {};
}

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

const TlsMaterial& tls_material() {
  struct Holder {
    TlsMaterial m;
    Holder() {
      m.dir = make_temp_dir("migcheck-tls");
      try {
        generate();
      } catch (...) {
        std::error_code ec;
        fs::remove_all(m.dir, ec);
        throw;
      }
    }
    ~Holder() {
      std::error_code ec;
      fs::remove_all(m.dir, ec);
    }
    Holder(const Holder&) = delete;
    Holder& operator=(const Holder&) = delete;

    void openssl(std::vector<std::string> args) const {
      args.insert(args.begin(), "openssl");
      ProcessResult r = run_process(args, 30s);
      if (!r.ok()) throw std::runtime_error("tls_material: " + describe(args) + ": " + r.err);
    }
    std::string path(const std::string& name) const { return m.dir + "/" + name; }

    void make_ca(const std::string& name, const std::string& cn) const {
      openssl({"req",         "-x509",
               "-new",        "-nodes",
               "-newkey",     "ec",
               "-pkeyopt",    "ec_paramgen_curve:prime256v1",
               "-keyout",     path(name + ".key"),
               "-out",        path(name + ".crt"),
               "-days",       "3650",
               "-subj",       "/CN=" + cn,
               "-config",     path("openssl.cnf"),
               "-extensions", "ca_ext"});
    }
    void make_leaf(const std::string& name, const std::string& cn, const std::string& ca,
                   const std::string& ext, int serial) const {
      openssl({"req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
               "-keyout", path(name + ".key"), "-out", path(name + ".csr"), "-subj", "/CN=" + cn,
               "-config", path("openssl.cnf")});
      openssl({"x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".crt"), "-CAkey",
               path(ca + ".key"), "-set_serial", std::to_string(serial), "-days", "3650", "-out",
               path(name + ".crt"), "-extfile", path("openssl.cnf"), "-extensions", ext});
    }

    void generate() {
      // Our own config, so the system openssl.cnf cannot add or clash with extensions.
      // Server certs also allow clientAuth: Redis presents them on cluster-bus and
      // replication links.
      write_file(path("openssl.cnf"),
                 "[req]\n"
                 "distinguished_name = dn\n"
                 "prompt = no\n"
                 "[dn]\n"
                 "CN = unused\n"
                 "[ca_ext]\n"
                 "basicConstraints = critical,CA:TRUE\n"
                 "keyUsage = critical,keyCertSign,cRLSign\n"
                 "subjectKeyIdentifier = hash\n"
                 "[server_ext]\n"
                 "basicConstraints = CA:FALSE\n"
                 "keyUsage = critical,digitalSignature,keyEncipherment\n"
                 "extendedKeyUsage = serverAuth,clientAuth\n"
                 "subjectAltName = DNS:localhost,IP:127.0.0.1\n"
                 "authorityKeyIdentifier = keyid\n"
                 "[client_ext]\n"
                 "basicConstraints = CA:FALSE\n"
                 "keyUsage = critical,digitalSignature\n"
                 "extendedKeyUsage = clientAuth\n"
                 "authorityKeyIdentifier = keyid\n");
      make_ca("ca", "migcheck test CA");
      make_leaf("server", "localhost", "ca", "server_ext", 1001);
      make_leaf("client", "migcheck-test-client", "ca", "client_ext", 1002);
      make_ca("other-ca", "migcheck unrelated CA");
      make_leaf("other-client", "migcheck-other-client", "other-ca", "client_ext", 2001);
      m.ca_cert = path("ca.crt");
      m.ca_key = path("ca.key");
      m.server_cert = path("server.crt");
      m.server_key = path("server.key");
      m.client_cert = path("client.crt");
      m.client_key = path("client.key");
      m.other_ca_cert = path("other-ca.crt");
      m.other_client_cert = path("other-client.crt");
      m.other_client_key = path("other-client.key");
    }
  };
  static Holder holder;
  return holder.m;
}

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

std::vector<Reply> TestServer::replies(const std::vector<std::vector<std::string>>& cmds,
                                       Auth auth) {
  return exchange(sock_path_, port_, auth == Auth::Password ? opts_.password : std::string(), cmds,
                  kCommandTimeout);
}

void TestServer::pipeline(const std::vector<std::vector<std::string>>& cmds, bool throw_on_error) {
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

// ---------------------------------------------------------------------------
// TestCluster

int key_slot(std::string_view key) {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  uint16_t crc = 0;  // CRC16-CCITT (XMODEM), as in the Redis Cluster spec
  for (unsigned char c : key) {
    crc ^= static_cast<uint16_t>(c << 8);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc & 16383;
}

TestCluster::TestCluster(ServerOptions base, int masters, int replicas) : masters_(masters) {
  if (masters < 3) {
    throw std::invalid_argument("TestCluster: --cluster create needs at least 3 masters");
  }
  base.cluster = true;
  for (int i = 0; i < masters * (1 + replicas); ++i)
    nodes_.push_back(std::make_unique<TestServer>(base));

  std::vector<std::string> argv = {nodes_.front()->cli_binary()};
  for (auto& a : cli_tls_args(base)) argv.push_back(std::move(a));
  argv.insert(argv.end(), {"--cluster", "create"});
  for (const auto& n : nodes_) argv.push_back(n->host() + ":" + std::to_string(n->port()));
  argv.insert(argv.end(), {"--cluster-replicas", std::to_string(replicas), "--cluster-yes"});
  ProcessResult r = run_process(argv, 60s, cli_env(base));
  if (!r.ok()) {
    throw std::runtime_error("cluster create failed (exit " + std::to_string(r.exit_code) + "):\n" +
                             r.out + r.err);
  }
  wait_ok();
}

void TestCluster::wait_ok(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string n = std::to_string(nodes_.size());
  std::string why;
  while (true) {
    try {
      why.clear();
      std::set<std::string> views;
      for (auto& node : nodes_) {
        auto r = node->replies({{"CLUSTER", "INFO"}, {"CLUSTER", "NODES"}, {"CLUSTER", "SLOTS"}});
        auto info = parse_info(r[0].str);
        if (info["cluster_state"] != "ok" || info["cluster_slots_assigned"] != "16384" ||
            info["cluster_slots_ok"] != "16384" || info["cluster_known_nodes"] != n) {
          why = "node " + std::to_string(node->port()) + ": " + r[0].text();
          break;
        }
        int masters = 0;
        std::istringstream lines(r[1].str);
        std::string line;
        while (std::getline(lines, line)) {
          std::istringstream fields(line);
          std::string id, addr, flags;
          fields >> id >> addr >> flags;
          if (flags.find("master") != std::string::npos &&
              flags.find("fail") == std::string::npos &&
              flags.find("handshake") == std::string::npos &&
              flags.find("noaddr") == std::string::npos) {
            ++masters;
          }
        }
        if (masters != masters_) {
          why = "node " + std::to_string(node->port()) + " sees:\n" + r[1].str;
          break;
        }
        // Slot ranges with their owners' ids, sorted: equal on every node.
        std::vector<std::string> ranges;
        for (const auto& range : r[2].elements) {
          if (range.elements.size() < 3 || range.elements[2].elements.size() < 3) continue;
          ranges.push_back(std::to_string(range.elements[0].integer) + "-" +
                           std::to_string(range.elements[1].integer) + ":" +
                           range.elements[2].elements[2].str);
        }
        std::sort(ranges.begin(), ranges.end());
        std::string view;
        for (const auto& s : ranges) view += s + " ";
        views.insert(view);
      }
      if (why.empty() && views.size() == 1) {
        refresh_slots();
        return;
      }
      if (why.empty()) why = "nodes disagree on CLUSTER SLOTS";
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (Clock::now() >= deadline) throw std::runtime_error("cluster not ok: " + why);
    std::this_thread::sleep_for(50ms);
  }
}

void TestCluster::refresh_slots() {
  std::map<std::string, int> index_of_id;
  for (int i = 0; i < size(); ++i) {
    Reply id = node(i).reply({"CLUSTER", "MYID"});
    if (id.is_error()) throw std::runtime_error("CLUSTER MYID: " + id.str);
    index_of_id[id.str] = i;
  }
  std::vector<int> owner(16384, -1);
  Reply slots = node(0).reply({"CLUSTER", "SLOTS"});
  for (const auto& range : slots.elements) {
    if (range.elements.size() < 3 || range.elements[2].elements.size() < 3) continue;
    auto it = index_of_id.find(range.elements[2].elements[2].str);
    if (it == index_of_id.end()) continue;
    for (long long s = range.elements[0].integer; s <= range.elements[1].integer; ++s) {
      owner[static_cast<size_t>(s)] = it->second;
    }
  }
  slot_owner_ = std::move(owner);
}

TestServer& TestCluster::node_for_key(std::string_view key) {
  int owner = slot_owner_.at(static_cast<size_t>(key_slot(key)));
  if (owner < 0) throw std::runtime_error("no node owns the slot of key " + std::string(key));
  return node(owner);
}

Reply TestCluster::reply_routed(const std::vector<std::string>& args) {
  TestServer* target = args.size() >= 2 ? &node_for_key(args[1]) : &node(0);
  bool asking = false;
  for (int hop = 0; hop < 5; ++hop) {
    Reply r = asking ? target->replies({{"ASKING"}, args}).back() : target->reply(args);
    if (!r.is_error()) return r;
    // "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>"
    std::istringstream err(r.str);
    std::string kind, addr;
    int slot = -1;
    err >> kind >> slot >> addr;
    if (kind == "MOVED") {
      refresh_slots();
      int owner = slot >= 0 && slot < 16384 ? slot_owner_[static_cast<size_t>(slot)] : -1;
      if (owner < 0) return r;
      target = &node(owner);
      asking = false;
    } else if (kind == "ASK") {
      int port = std::atoi(addr.substr(addr.rfind(':') + 1).c_str());
      auto it = std::find_if(nodes_.begin(), nodes_.end(),
                             [&](const auto& n) { return n->port() == port; });
      if (it == nodes_.end()) return r;
      target = it->get();
      asking = true;
    } else {
      return r;
    }
  }
  throw std::runtime_error("too many cluster redirections for " + describe(args));
}

std::string TestCluster::cmd_routed(const std::vector<std::string>& args) {
  return reply_routed(args).text();
}

void TestCluster::flushall() {
  for (auto& n : nodes_) n->pipeline({{"FLUSHALL"}});
}

}  // namespace migcheck::test

// The fixtures' private blocking RESP client: one connection per call,
// pipelined in batches, replies folded into test::Reply.
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
// The private RESP client.

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
      case '-':
      case ',':
      case '(':  // status, error, double, big number: the line itself
        r.type = type == '+'   ? Reply::Type::Status
                 : type == '-' ? Reply::Type::Error
                               : Reply::Type::Bulk;
        r.str = std::move(line);
        return r;
      case ':':
      case '#':  // integer, boolean
        r.type = Reply::Type::Integer;
        r.integer = type == '#' ? (line == "t" ? 1 : 0) : std::stoll(line);
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

}  // namespace internal

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

}  // namespace migcheck::test

// FaultProxy: one poll() loop over the listening socket and every
// (client, server) pair; see fault_proxy.h.
#include "fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <stdexcept>
#include <vector>

namespace migcheck::test {
namespace {

using Clock = std::chrono::steady_clock;

struct Pair {
  int client = -1, server = -1;
  std::string tail;  // the end of the client's last write, for triggers split across reads
  Clock::time_point cut_at{};  // set: stop forwarding, close both at this time
  bool pass_rest = false;      // while cutting, still pass the client's bytes on
  bool cutting() const { return cut_at != Clock::time_point{}; }
  ~Pair() {
    if (client >= 0) ::close(client);
    if (server >= 0) ::close(server);
  }
};

int connect_upstream(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Writes all of `data`; false when the peer is gone.
bool write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

FaultProxy::FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("FaultProxy: ") + std::strerror(errno));
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { loop(); });
}

FaultProxy::~FaultProxy() {
  char c = 0;
  if (::write(wake_[1], &c, 1) != 1) { /* the loop also ends on a closed pipe */
  }
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void FaultProxy::cut_after(std::string trigger, int times, Pass pass,
                           std::chrono::milliseconds settle) {
  std::lock_guard lock(mu_);
  trigger_ = std::move(trigger);
  armed_ = times;
  pass_ = pass;
  settle_ = settle;
}

void FaultProxy::loop() {
  std::list<Pair> pairs;
  std::vector<char> buf(1 << 16);
  for (;;) {
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    std::vector<Pair*> owners{nullptr, nullptr};
    auto now = Clock::now();
    int timeout = 100;
    for (auto& p : pairs) {
      // No reply comes back from a pair being cut; with Pass::All the
      // client's bytes still go on (the rest of a big command).
      if (!p.cutting() || p.pass_rest) {
        fds.push_back({p.client, POLLIN, 0});
        owners.push_back(&p);
      }
      if (p.cutting()) {
        timeout = std::min<int>(
            timeout,
            static_cast<int>(std::max<int64_t>(
                0, std::chrono::duration_cast<std::chrono::milliseconds>(p.cut_at - now).count())));
        continue;
      }
      fds.push_back({p.server, POLLIN, 0});
      owners.push_back(&p);
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
    if (fds[0].revents) return;
    if (fds[1].revents & POLLIN) {
      const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        auto& p = pairs.emplace_back();
        p.client = c;
        p.server = connect_upstream(upstream_port_);
        if (p.server < 0) pairs.pop_back();  // the client sees its connection closed
      }
    }
    std::vector<Pair*> dead;
    for (size_t i = 2; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      Pair* p = owners[i];
      const bool from_client = fds[i].fd == p->client;
      if (!from_client && p->cutting()) continue;  // cut in this same round
      const ssize_t n = ::recv(fds[i].fd, buf.data(), buf.size(), 0);
      if (n <= 0) {
        dead.push_back(p);
        continue;
      }
      const int to = from_client ? p->server : p->client;
      if (!write_all(to, buf.data(), static_cast<size_t>(n))) {
        dead.push_back(p);
        continue;
      }
      if (!from_client || p->cutting()) continue;
      std::lock_guard lock(mu_);
      if (armed_ <= 0) continue;
      std::string seen = p->tail + std::string(buf.data(), static_cast<size_t>(n));
      if (seen.find(trigger_) != std::string::npos) {
        --armed_;
        p->cut_at = Clock::now() + settle_;
        p->pass_rest = pass_ == Pass::All;
      }
      p->tail = seen.substr(seen.size() > trigger_.size() ? seen.size() - trigger_.size() : 0);
    }
    now = Clock::now();
    pairs.remove_if([&](const Pair& p) {
      for (Pair* d : dead)
        if (d == &p) return true;
      if (p.cutting() && now >= p.cut_at) {
        ++cuts_;
        return true;
      }
      return false;
    });
  }
}

}  // namespace migcheck::test

// FakePeer: one poll() loop over the listening socket and its connections.
#include "fake_peer.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

namespace migcheck::test {

FakePeer::FakePeer(Mode mode, std::string answer) : mode_(mode), answer_(std::move(answer)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  socklen_t len = sizeof sa;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0 || ::pipe(wake_) != 0)
    throw std::runtime_error("FakePeer: cannot listen");
  port_ = ntohs(sa.sin_port);
  thread_ = std::thread([this] { loop(); });
}

FakePeer::~FakePeer() {
  char c = 1;
  if (::write(wake_[1], &c, 1) != 1) {
  }
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void FakePeer::loop() {
  std::vector<int> conns;
  for (;;) {
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (int c : conns) fds.push_back({c, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 1000) < 0) continue;
    if (fds[0].revents) break;
    if (fds[1].revents & POLLIN) {
      const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        ++connections_;
        conns.push_back(c);
      }
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      const int c = fds[i].fd;
      char buf[4096];
      const ssize_t n = ::read(c, buf, sizeof buf);
      bool drop = n <= 0;
      if (n > 0 && mode_ == Mode::Answer) {
        if (::write(c, answer_.data(), answer_.size()) < 0) drop = true;
      } else if (n > 0 && mode_ == Mode::Reset) {
        linger l{1, 0};  // close with a reset, as a TLS port does to plain text
        ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        drop = true;
      }
      if (drop) {
        ::close(c);
        std::erase(conns, c);
      }
    }
  }
  for (int c : conns) ::close(c);
}

}  // namespace migcheck::test

// A hostile or confused peer on 127.0.0.1 for the tests of how migcheck
// treats something that is not a Redis server: one that never answers, an
// HTTP server, a server whose error replies carry terminal escapes, one that
// resets the connection. It tests our handling of such peers, not Redis.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "noncopyable.h"

namespace migcheck::test {

class FakePeer : NonCopyable {
 public:
  enum class Mode {
    Silent,  // accepts, reads, never answers
    Answer,  // answers every read with `answer`, keeps the connection open
    Reset,   // reads the first bytes, then resets the connection (RST)
  };
  explicit FakePeer(Mode mode, std::string answer = {});
  ~FakePeer();

  int port() const { return port_; }
  std::string uri() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }

 private:
  void loop();
  Mode mode_;
  std::string answer_;
  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace migcheck::test

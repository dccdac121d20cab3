// A TCP proxy on loopback between migcheck and a test server that can cut a
// connection at the worst moment: after the server has received (and
// applied) a command, before its reply reaches the client. That is what a
// failover, a CLIENT KILL or a network reset does at random; here it happens
// on purpose, on the command a test names. Like server_fixture, it uses
// nothing of src/.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "noncopyable.h"

namespace migcheck::test {

class FaultProxy : NonCopyable {
 public:
  // Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:upstream_port.
  explicit FaultProxy(int upstream_port);
  ~FaultProxy();

  int port() const { return port_; }
  std::string uri() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  // What reaches the server of a connection being cut.
  enum class Pass {
    Chunk,  // the client's bytes up to the end of the read holding the trigger:
            // a pipeline applied in part, as when the network drops mid-write
    All,    // everything the client sends until the cut: all applied, no reply
  };
  // The next `times` client writes that contain `trigger` are passed on to the
  // server; `settle` later (time for the server to apply them) that connection
  // is closed on both sides, and the server's replies are never delivered.
  void cut_after(std::string trigger, int times = 1, Pass pass = Pass::Chunk,
                 std::chrono::milliseconds settle = std::chrono::milliseconds(100));
  // Connections cut so far.
  int cuts() const { return cuts_.load(); }

 private:
  void loop();

  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};  // a pipe: the destructor stops the loop through it
  std::mutex mu_;
  std::string trigger_;
  int armed_ = 0;
  Pass pass_ = Pass::Chunk;
  std::chrono::milliseconds settle_{100};
  std::atomic<int> cuts_{0};
  std::thread thread_;
};

}  // namespace migcheck::test

// One authenticated connection to one server: AUTH, SELECT, CLIENT SETNAME,
// then pipelined commands whose replies are paired with their requests in
// FIFO order, with a bounded number in flight.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "duration.h"
#include "noncopyable.h"
#include "resp.h"
#include "transport.h"
#include "uri.h"

namespace migcheck {

struct ConnectOptions {
  Millis connect_timeout{5000};
  Millis command_timeout{30000};
  std::string client_name = "migcheck";
  bool select_db = true;        // false for cluster nodes (db 0 only)
  bool readonly = false;        // send READONLY (cluster replica reads)
  size_t max_in_flight = 1000;  // commands written before replies are read
  bool fetch_run_id = false;    // INFO server at set-up, for run_id() (RestartWatch)
  // The caller sends AUTH itself after set-up (sentinels, whose AUTH may be
  // refused as unneeded): a NOAUTH answer to the set-up's PING is expected.
  bool caller_authenticates = false;
};

class Connection : NonCopyable {
 public:
  // Connects and runs the set-up sequence. Throws ConnectionError (auth
  // failures and TLS verification errors are not retryable).
  Connection(Endpoint ep, ConnectOptions opts);
  ~Connection();

  // Queues a command; nothing is sent until flush() or read().
  void append(std::span<const std::string> args);
  // Sends everything queued.
  void flush();
  // The reply to the oldest command not yet answered (flushes first).
  Reply read();
  size_t pending() const { return pending_; }

  // One command, one reply (error replies are returned, not thrown).
  Reply command(std::span<const std::string> args);
  Reply command(std::initializer_list<std::string_view> args);
  // Many commands, replies in order; at most max_in_flight outstanding at once.
  std::vector<Reply> pipeline(std::span<const Command> cmds);

  const Endpoint& endpoint() const { return ep_; }
  const ConnectOptions& options() const { return opts_; }
  std::string name() const { return ep_.display(); }
  // After an I/O error the connection is unusable; owners reconnect.
  bool broken() const { return broken_; }
  // The server process's INFO run_id, with fetch_run_id; empty when the
  // server would not say (INFO refused or renamed away).
  const std::string& run_id() const { return run_id_; }

 private:
  void handshake();
  // The message for a set-up that failed with `what`, saying what the peer
  // seems to be (silent, HTTP, TLS) when it is not a Redis server.
  std::string handshake_failure(const std::string& what) const;
  Endpoint ep_;
  ConnectOptions opts_;
  std::unique_ptr<Transport> transport_;
  ReplyParser parser_;
  std::string out_;
  std::vector<char> in_;
  size_t pending_ = 0;
  bool broken_ = false;
  std::string run_id_;
  std::string first_bytes_;  // the start of the peer's first answer: who is it?
};

// Runs `cmd` and throws ProtocolError naming the endpoint if the server
// answers with an error (for set-up and metadata commands, not per-key work).
Reply checked(Connection& c, std::initializer_list<std::string_view> cmd);

}  // namespace migcheck

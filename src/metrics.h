// Prometheus metrics of the run in this process, served in the text format at
// http://HOST:PORT/metrics while it goes on (`--metrics HOST:PORT`). Engines
// publish through the process-wide instance, as they log through log.h; with
// no --metrics nothing listens and each call only bumps an atomic.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "noncopyable.h"

namespace migcheck {

class Metrics : NonCopyable {
 public:
  static Metrics& get();

  // Starts serving /metrics on "HOST:PORT" ("127.0.0.1:9121", "[::1]:9121",
  // ":9121" for every address). Throws UsageError on a malformed address or
  // one that cannot be bound. port 0 picks a free one: see port().
  void serve(std::string_view host_port);
  int port() const;  // the bound port, 0 when not serving

  // What the run does. `side` is "source" or "target".
  void run_state(std::string_view command, std::string_view state);  // running, done, failed...
  // A new compare round: the differences gauges start again from 0.
  void round(int n);
  void keys_scanned(std::string_view side, int64_t n);
  void keys_checked(int64_t n);
  void keys_copied(int64_t n);
  void keys_failed(int64_t n);
  void differences(std::string_view kind, int64_t n);  // found in the round in progress
  // Live replication: keyspace events received, applied, and known missed.
  void events(std::string_view what, int64_t n);
  void queue_depth(int64_t n);
  // Seconds from an event's arrival to its key being written on the target.
  void replication_lag(double seconds);
  // A reconnect, or a wait for a transient state (LOADING, BUSY...), by cause.
  void reconnect(std::string_view cause);
  void waited(std::string_view cause, double seconds);
  void rate_limited_sleep(double seconds);

  ~Metrics();

 private:
  Metrics();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace migcheck

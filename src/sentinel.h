// Sentinel-managed primaries (redis-sentinel:// endpoints): asking the
// sentinels where the primary is now, the Sentinel view `migcheck info`
// shows, and following a failover as it is announced (+switch-master).
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "duration.h"
#include "noncopyable.h"
#include "uri.h"

namespace migcheck {

// The endpoint a sentinel of `ep` is reached at: its host and port, the
// sentinel credentials (else the URI's), the URI's TLS options, db 0.
Endpoint sentinel_endpoint(const Endpoint& ep, size_t index);

// The primary as a plain endpoint (no sentinels; host and port set, the
// data nodes' credentials, db and TLS kept). Asks each sentinel in turn: the
// first that answers with an address wins. Throws ConnectionError naming
// every sentinel and why it did not answer (retryable unless each refused
// for good: authentication, TLS verification, or all know no such primary).
struct PrimaryLocation {
  Endpoint primary;
  std::string answered_by;  // the sentinel that answered, host:port
};
PrimaryLocation locate_primary(const Endpoint& ep, Millis timeout);

// What the sentinels say about the primary, for `migcheck info`.
struct SentinelNode {
  std::string address;
  std::string flags;        // Sentinel's flags ("slave", "s_down,slave"...)
  std::string link_status;  // replicas: master-link-status
};
struct SentinelReport {
  std::string address;
  bool answered = false;
  std::string error;  // why not
};
struct SentinelView {
  std::string master;   // the name
  std::string primary;  // host:port
  std::string answered_by;
  int quorum = 0;
  int other_sentinels = -1;  // num-other-sentinels as the answering one knows it
  std::string flags;         // the primary's flags
  std::vector<SentinelNode> replicas;
  std::vector<SentinelReport> sentinels;  // every sentinel of the URI, asked
};
SentinelView sentinel_view(const Endpoint& ep, Millis timeout);
nlohmann::json to_json(const SentinelView& v);

// Follows +switch-master of one primary on the sentinels' pub/sub, on a
// thread of its own, so that a client moves to a promoted replica as soon as
// the failover completes (a demoted primary may go on accepting writes for
// seconds, until Sentinel reconfigures it). switches() counts the
// announcements seen; the owner reconnects when it changed.
class SentinelFollower : NonCopyable {
 public:
  SentinelFollower(Endpoint ep, Millis timeout);
  ~SentinelFollower();
  uint64_t switches() const { return switches_.load(); }

 private:
  void run();
  Endpoint ep_;
  Millis timeout_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> switches_{0};
  std::thread thread_;
};

}  // namespace migcheck

// A logical server: one standalone node or a whole Redis Cluster behind one
// seed endpoint. Routes keyed commands by slot, pipelines them per node,
// follows MOVED/ASK, waits out transient states (LOADING, BUSY, TRYAGAIN,
// CLUSTERDOWN, MASTERDOWN; READONLY/NOREPLICAS after a failover: the
// topology is read again), reconnects after connection loss (re-issuing
// unanswered commands, re-routed when a failover moved their slots), all
// within retry_for and on the run's stop token.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "clock_skew.h"
#include "connection.h"
#include "errors.h"
#include "noncopyable.h"
#include "restart_watch.h"
#include "slot.h"

namespace migcheck {

// What collect() does with a command whose connection was lost after it was
// sent and before its reply came: send it again (reads, and writes that are
// idempotent), or never, because the server may have applied it already
// (RPUSH, APPEND, XADD...): its reply is then a LOST error (is_lost_reply)
// and the caller decides, e.g. by redoing the whole key from scratch.
enum class Resend { Unanswered, Never };

// The error reply given in place of an answer lost with its connection.
inline constexpr std::string_view kLostReplyCode = "LOST";
bool is_lost_reply(const Reply& r);

class SentinelFollower;

struct ClientOptions {
  ConnectOptions conn;
  Millis retry_for{60000};         // keep reconnecting this long before giving up
  bool read_from_replica = false;  // cluster: route reads and scans to replicas
  int max_redirects = 16;
  // Told the server's run_id at every connection (shared by a run's clients).
  std::shared_ptr<RestartWatch> watch;
};

struct NodeInfo {
  Endpoint endpoint;
  std::string id;  // cluster node id, empty for standalone
  bool primary = true;
  std::string primary_id;                  // for replicas
  std::vector<std::pair<int, int>> slots;  // inclusive ranges, primaries only
};

class Client : NonCopyable {
 public:
  Client(Endpoint seed, ClientOptions opts);
  ~Client();

  bool cluster() const { return cluster_; }
  const Endpoint& seed() const { return seed_; }
  std::string display() const { return seed_.display(); }
  const std::vector<NodeInfo>& nodes() const { return nodes_; }
  // Nodes that hold the keyspace and are to be scanned: primaries, or one
  // replica per primary with read_from_replica (falling back to the primary).
  std::vector<size_t> scan_nodes() const;

  // Keyed commands: the key is found by key_of(). Replies in order.
  std::vector<Reply> execute(std::span<const Command> cmds, Resend resend = Resend::Unanswered);
  // Overlapped form: submit writes the batch to every node involved and
  // returns; collect reads the replies. One batch in flight per client.
  // Commands never sent (no connection) are sent once one is back, whatever
  // `resend` says.
  void submit(std::span<const Command> cmds, Resend resend = Resend::Unanswered);
  std::vector<Reply> collect();

  // One command on one node (SCAN, INFO, DBSIZE...), with reconnects.
  Reply on_node(size_t node, const Command& cmd);
  Connection& connection(size_t node);

  // The node's clock against this host's (clock_skew.h): measured on a live
  // connection, never across a reconnect, again after a reconnect and every
  // minute. clock_offset_ms is its usable offset (0 within its error).
  ClockReading clock(size_t node);
  int64_t clock_offset_ms(size_t node) { return clock(node).usable_ms(); }
  size_t node_for_key(std::string_view key) const;

  // Reads the slot map again from any node that answers (throws when none).
  void refresh_topology();
  // The same, false (and logged at debug level) when no node answers.
  bool try_refresh_topology();
  // The node a slot's reads (read: with read_from_replica) or writes go to.
  size_t node_for_slot(int slot, bool read) const;
  std::optional<size_t> node_by_id(std::string_view id) const;
  const ClientOptions& options() const { return opts_; }
  // Position of the key argument of a command we issue.
  static size_t key_index(const Command& cmd);

 private:
  struct NodeConn;
  void discover(Connection& seed_conn);
  Connection& ensure(size_t node);
  size_t node_index_for(const std::string& address);
  void reconnect_wait(size_t node, const ConnectionError& why,
                      std::chrono::steady_clock::time_point& first_failure);
  void follow_failover();

  Endpoint seed_;
  ClientOptions opts_;
  bool cluster_ = false;
  std::vector<NodeInfo> nodes_;
  std::vector<std::unique_ptr<NodeConn>> conns_;  // parallel to nodes_
  std::array<uint16_t, kSlots> slot_primary_{};
  std::array<uint16_t, kSlots> slot_read_{};  // replica with read_from_replica
  // The batch in flight.
  std::span<const Command> batch_;
  std::vector<size_t> batch_node_;
  std::vector<bool> batch_sent_;  // per node: something of the batch may have reached it
  Resend batch_resend_ = Resend::Unanswered;
  bool in_flight_ = false;
  // redis-sentinel:// seeds: failovers announced by the sentinels.
  std::unique_ptr<SentinelFollower> follower_;
  uint64_t switches_seen_ = 0;
};

}  // namespace migcheck

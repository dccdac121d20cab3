// Live mode's inputs: keyspace notifications from every primary of the
// source (a dedicated subscriber connection per node, since notifications
// are node-local), a bounded queue that coalesces events per key, and the
// check of notify-keyspace-events with the exact value to set.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "client.h"
#include "copier.h"
#include "duration.h"
#include "noncopyable.h"

namespace migcheck {

// What notify-keyspace-events must contain for live mode, judged from the
// server's value. `types` narrows the type classes needed (--type).
struct NotifyCheck {
  bool ok = false;
  bool keyevent = true;   // subscribe to __keyevent@db__ (E) or __keyspace@db__ (K)
  std::string missing;    // flags to add, e.g. "E$e"
  std::string suggested;  // the value to set, e.g. "KEA"
};
NotifyCheck check_notify_flags(std::string_view value, const std::vector<std::string>& types = {});

// Keys changed on the source, coalesced: a key queued twice is queued once,
// with the time of its first event (so lag counts from the oldest change).
// Bounded by the number of distinct keys; push() says when a key did not fit.
class EventQueue {
 public:
  explicit EventQueue(size_t capacity);
  enum class Push { Queued, Coalesced, Full };
  Push push(std::string_view key, SteadyTime at);
  // Up to `max` keys, oldest first; waits up to `wait` when empty.
  size_t pop(std::vector<std::pair<std::string, SteadyTime>>& out, size_t max, Millis wait);
  size_t size() const;
  size_t capacity() const { return capacity_; }
  void wake();  // ends a pop() wait early (stopping)

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  const size_t capacity_;
  std::unordered_map<std::string, SteadyTime> queued_;
  std::deque<const std::string*> order_;  // keys of queued_ (node-stable)
  bool woken_ = false;
};

// Where keys may have been deleted on the source unseen: the slots of the
// nodes whose gaps closed (a cluster), or every key (`all`: a standalone or
// Sentinel source, or a node whose slots are not known any more).
struct SweepScope {
  bool all = false;
  std::vector<bool> slots;  // 16384 entries when set; empty = none
  bool empty() const { return !all && slots.empty(); }
  bool covers(int slot) const {
    return all || (!slots.empty() && slots[static_cast<size_t>(slot)]);
  }
  void add_all() { all = true; }
  void add_range(int first, int last);
  void merge(const SweepScope& o);
};

struct ListenerStats {
  uint64_t events = 0;      // notifications received
  uint64_t ignored = 0;     // keymiss / new: not changes
  uint64_t reconnects = 0;  // subscriber connections lost and re-made
  // Windows during which a node's events were not received (a lost
  // subscription, a failover): closed ones were followed by a rescan (which
  // re-copies every source key, but cannot see a key deleted in the window);
  // open ones were still unsubscribed when the listener stopped.
  uint64_t gaps = 0;
  int64_t gap_max_ms = 0;
  uint64_t gaps_open = 0;
  uint64_t moves = 0;  // subscriptions moved to another node (failover, new primary)
};

// Subscribes on every primary of `source` and calls `on_key(key, event, at)`
// from its own thread for each notification that may have changed a key.
// A lost subscriber is re-made; events of the gap are lost, so
// `events_lost()` turns true until taken with take_events_lost() (the caller
// rescans). It turns true once the subscription is back, so a rescan begun
// then sees every change the subscription did not. Subscriptions are
// confirmed on every node before start() returns.
// On a cluster, the topology is read again (from its own connections) while
// a subscription is down and every few seconds: subscriptions follow the
// primaries holding slots, so a replica promoted by a failover is subscribed
// to (and a rescan follows), and a node that no longer holds slots is left.
class KeyspaceListener : NonCopyable {
 public:
  using Handler = std::function<void(std::string_view key, std::string_view event, SteadyTime at)>;
  KeyspaceListener(const Client& source, int db, bool keyevent, ConnectOptions conn,
                   Handler on_key);
  ~KeyspaceListener();

  // Type classes a node's notify-keyspace-events must publish (--type); a
  // node subscribed to after a failover is checked against them.
  void require_types(std::vector<std::string> types) { types_ = std::move(types); }
  void start();  // throws ConnectionError if a node cannot be subscribed to
  void stop();
  ListenerStats stats() const;
  bool take_events_lost() { return lost_.exchange(false); }
  // The scope of the gaps closed since the last call (taken: reset).
  SweepScope take_sweep_scope();
  SteadyTime last_event() const;
  size_t nodes() const { return endpoints_.size(); }

 private:
  struct Sub;
  void run(std::stop_token token);
  void handle(Sub& sub);
  void follow_topology(SteadyTime now);
  void gap_closed(Sub& sub, SteadyTime now);
  void check_notify_config(Sub& sub);
  std::vector<Endpoint> endpoints_;
  // Cluster sources: the listener's own view of the slot owners.
  std::unique_ptr<Client> topology_;
  ClientOptions topology_opts_;
  std::optional<Endpoint> seed_;  // cluster sources only
  SteadyTime next_topology_{};
  std::vector<std::string> types_;
  std::vector<std::unique_ptr<Sub>> subs_;
  int db_;
  bool keyevent_;
  ConnectOptions conn_;
  Handler on_key_;
  std::jthread thread_;  // stop() asks it to stop through its stop token
  std::atomic<bool> lost_{false};
  std::atomic<uint64_t> events_{0}, ignored_{0}, reconnects_{0};
  std::atomic<uint64_t> gaps_{0}, gaps_open_{0}, moves_{0};
  std::atomic<int64_t> gap_max_ms_{0};
  std::atomic<int64_t> last_event_ns_{0};
  std::mutex sweep_mu_;
  SweepScope sweep_;  // sweep_mu_
};

}  // namespace migcheck

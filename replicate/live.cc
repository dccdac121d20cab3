// Keyspace notification subscribers (one connection per primary, polled by
// one thread), the coalescing event queue and the notify-keyspace-events check.
// Subscriber connections speak RESP directly over a Transport: Connection
// pairs every reply with a request, and pub/sub messages have none.
#include "live.h"

#include <poll.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>

#include "auth_commands.h"
#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "resp.h"
#include "sentinel.h"
#include "transport.h"

namespace migcheck {
namespace {

// The keyspace event class of each type: kTypeClasses[i] is kTypeNames[i]'s.
constexpr std::string_view kTypeNames[] = {"string", "list", "set", "hash", "zset", "stream"};
constexpr std::string_view kTypeClasses = "$lshzt";
static_assert(std::size(kTypeNames) == kTypeClasses.size());
constexpr std::string_view kAllClasses = "g$lshztxe";

// The event class of `type`; 0 for a type without one.
char class_of(std::string_view type) {
  for (size_t i = 0; i < kTypeClasses.size(); ++i)
    if (kTypeNames[i] == type) return kTypeClasses[i];
  return 0;
}

// How often a cluster's topology is read while every subscription is up
// (a graceful failover or a new primary does not break a subscription).
constexpr auto kTopologyEvery = std::chrono::seconds(5);

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

NotifyCheck check_notify_flags(std::string_view value, const std::vector<std::string>& types) {
  std::string have(value);
  if (have.find('A') != std::string::npos) have += "g$lshztxe";
  auto has = [&](char c) { return have.find(c) != std::string::npos; };
  NotifyCheck r;
  r.keyevent = has('E') || !has('K');
  std::string needed = "gxe";
  if (types.empty()) {
    needed += kTypeClasses;
  } else {
    for (const auto& t : types)
      if (char c = class_of(t)) needed += c;
  }
  if (!has('E') && !has('K')) r.missing += 'E';
  for (char c : needed)
    if (!has(c)) r.missing += c;
  r.ok = r.missing.empty();
  if (!r.ok) {
    std::string classes;
    for (char c : kAllClasses)
      if (has(c) || needed.find(c) != std::string::npos) classes += c;
    if (classes == kAllClasses) classes = "A";
    std::string extra;  // flags beyond K/E/classes that were set (m, n, d...)
    for (char c : value)
      if (c != 'K' && c != 'E' && c != 'A' && kAllClasses.find(c) == std::string_view::npos)
        extra += c;
    r.suggested = std::string(has('K') || value.empty() ? "K" : "") + "E" + classes + extra;
  }
  return r;
}

// ---------------------------------------------------------------------------

EventQueue::EventQueue(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

EventQueue::Push EventQueue::push(std::string_view key, SteadyTime at) {
  std::lock_guard lock(mu_);
  std::string k(key);
  if (queued_.find(k) != queued_.end()) return Push::Coalesced;
  if (queued_.size() >= capacity_) return Push::Full;
  auto [it, inserted] = queued_.emplace(std::move(k), at);
  order_.push_back(&it->first);
  cv_.notify_one();
  return Push::Queued;
}

size_t EventQueue::pop(std::vector<std::pair<std::string, SteadyTime>>& out, size_t max,
                       Millis wait) {
  std::unique_lock lock(mu_);
  if (order_.empty() && wait.count() > 0)
    cv_.wait_for(lock, wait, [&] { return !order_.empty() || woken_; });
  woken_ = false;
  size_t n = 0;
  while (!order_.empty() && n < max) {
    auto node = queued_.extract(*order_.front());
    order_.pop_front();
    out.emplace_back(std::move(node.key()), node.mapped());
    ++n;
  }
  return n;
}

size_t EventQueue::size() const {
  std::lock_guard lock(mu_);
  return queued_.size();
}

void EventQueue::wake() {
  std::lock_guard lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

// ---------------------------------------------------------------------------

struct KeyspaceListener::Sub {
  Endpoint ep;
  std::unique_ptr<Transport> transport;
  ReplyParser parser;
  std::vector<char> buf = std::vector<char>(64 * 1024);
  SteadyTime retry_at{};
  bool down = false;
  // A sentinel source: failovers it announces move the subscription.
  std::unique_ptr<SentinelFollower> follower;
  uint64_t switches = 0;
  // Events may have been lost since gap_since: once subscribed again, the
  // gap is recorded and a rescan requested.
  bool gap = false;
  SteadyTime gap_since{};
  bool fresh = false;       // a node first subscribed to after start()
  bool unnotified = false;  // its notify-keyspace-events does not publish what we need
};

KeyspaceListener::KeyspaceListener(const Client& source, int db, bool keyevent, ConnectOptions conn,
                                   Handler on_key)
    : db_(db), keyevent_(keyevent), conn_(std::move(conn)), on_key_(std::move(on_key)) {
  if (!source.cluster()) {
    endpoints_.push_back(source.seed());
  } else {
    for (const auto& n : source.nodes())
      if (n.primary && !n.slots.empty()) endpoints_.push_back(n.endpoint);
    topology_opts_ = source.options();
    topology_opts_.watch = nullptr;  // the run's clients report restarts
    topology_opts_.read_from_replica = false;
    topology_opts_.conn = conn_;
    seed_ = source.seed();
  }
}

KeyspaceListener::~KeyspaceListener() {
  stop();
}

namespace {

// Connects, authenticates and subscribes; throws ConnectionError.
void subscribe(std::unique_ptr<Transport>& t, ReplyParser& parser, std::vector<char>& buf,
               const Endpoint& ep, const ConnectOptions& conn, const std::string& pattern) {
  parser.reset();
  t = std::make_unique<Transport>(ep, conn.connect_timeout);
  std::vector<Command> setup = auth_commands(ep);
  setup.push_back({"CLIENT", "SETNAME", conn.client_name + "-live"});
  setup.push_back({"PSUBSCRIBE", pattern});
  std::string out;
  for (const auto& c : setup) append_command(out, c);
  t->write_all(out, conn.command_timeout);
  for (size_t i = 0; i < setup.size();) {
    while (auto r = parser.next()) {
      if (r->is_error() && setup[i][0] == "AUTH")
        throw ConnectionError("authentication failed for " + ep.display() + ": " + r->str, false);
      if (r->is_error() && setup[i][0] == "PSUBSCRIBE")
        throw ConnectionError(
            "cannot subscribe to keyspace notifications on " + ep.display() + ": " + r->str, false);
      if (++i == setup.size()) return;
    }
    size_t n = t->read_some(buf.data(), buf.size(), conn.command_timeout);
    parser.feed(std::string_view(buf.data(), n));
  }
}

std::string pattern_for(bool keyevent, int db) {
  return std::string(keyevent ? "__keyevent@" : "__keyspace@") + std::to_string(db) + "__:*";
}

}  // namespace

void KeyspaceListener::start() {
  const std::string pattern = pattern_for(keyevent_, db_);
  for (const auto& ep : endpoints_) {
    auto sub = std::make_unique<Sub>();
    sub->ep = ep;
    sub->ep.db = 0;  // the channel names the db; no SELECT on this connection
    if (ep.is_sentinel())
      sub->follower = std::make_unique<SentinelFollower>(ep, conn_.connect_timeout);
    subscribe(sub->transport, sub->parser, sub->buf, sub->ep, conn_, pattern);
    subs_.push_back(std::move(sub));
  }
  if (seed_) {
    try {
      topology_ = std::make_unique<Client>(*seed_, topology_opts_);
    } catch (const Error& e) {
      // Only the following of failovers is lost: say so, go on.
      log::warn(std::string("cannot read the topology of ") + seed_->display() + " (" + e.what() +
                "): keyspace subscriptions will not follow failovers");
    }
  }
  next_topology_ = std::chrono::steady_clock::now() + kTopologyEvery;
  thread_ = std::jthread([this](std::stop_token token) { run(token); });
}

void KeyspaceListener::stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
  uint64_t open = 0;
  for (const auto& s : subs_) open += (s->gap || s->unnotified) ? 1 : 0;
  gaps_open_ = open;
}

ListenerStats KeyspaceListener::stats() const {
  ListenerStats s;
  s.events = events_.load();
  s.ignored = ignored_.load();
  s.reconnects = reconnects_.load();
  s.gaps = gaps_.load();
  s.gap_max_ms = gap_max_ms_.load();
  s.gaps_open = gaps_open_.load();
  s.moves = moves_.load();
  return s;
}

void SweepScope::add_range(int first, int last) {
  if (slots.empty()) slots.assign(16384, false);
  for (int i = std::max(first, 0); i <= std::min(last, 16383); ++i)
    slots[static_cast<size_t>(i)] = true;
}

void SweepScope::merge(const SweepScope& o) {
  all = all || o.all;
  if (o.slots.empty()) return;
  if (slots.empty()) slots.assign(16384, false);
  for (size_t i = 0; i < slots.size(); ++i) slots[i] = slots[i] || o.slots[i];
}

SweepScope KeyspaceListener::take_sweep_scope() {
  std::lock_guard lock(sweep_mu_);
  return std::exchange(sweep_, SweepScope{});
}

void KeyspaceListener::gap_closed(Sub& s, SteadyTime now) {
  if (!std::exchange(s.gap, false)) return;
  {
    // The keys a deletion in the gap can have touched: the node's slots as
    // the topology shows them now (a promoted replica holds its old
    // primary's), or everything where that is not known.
    SweepScope scope;
    const NodeInfo* node = nullptr;
    if (topology_)
      for (const auto& n : topology_->nodes())
        if (n.endpoint.address() == s.ep.address() && n.primary && !n.slots.empty()) node = &n;
    if (node)
      for (const auto& [first, last] : node->slots) scope.add_range(first, last);
    else
      scope.add_all();
    std::lock_guard lock(sweep_mu_);
    sweep_.merge(scope);
  }
  const int64_t ms = std::chrono::duration_cast<Millis>(now - s.gap_since).count();
  gaps_.fetch_add(1);
  int64_t max = gap_max_ms_.load();
  while (ms > max && !gap_max_ms_.compare_exchange_weak(max, ms)) {
  }
  // Requested now, not when the gap opened: a rescan that began before this
  // subscription could miss a change made between its read and now.
  lost_ = true;
  log::warn("keyspace events of " + s.ep.display() + " were not received for " +
            format_duration(Millis(ms)) +
            ": rescanning the source, then looking on the target for keys the source no longer "
            "has (deleted in that window)");
}

// A node subscribed to after a failover must publish the events we follow:
// its notify-keyspace-events may not have been set (CONFIG SET on the
// primaries only). Checked where CONFIG answers.
void KeyspaceListener::check_notify_config(Sub& s) {
  if (!topology_) return;
  for (size_t i = 0; i < topology_->nodes().size(); ++i) {
    if (topology_->nodes()[i].endpoint.address() != s.ep.address()) continue;
    try {
      Reply r = topology_->connection(i).command({"CONFIG", "GET", "notify-keyspace-events"});
      if (!r.is_array() || r.elements.size() < 2) return;
      const std::string& value = r.elements[1].str;
      NotifyCheck c = check_notify_flags(value, types_);
      if (c.ok && (c.keyevent || !keyevent_)) return;
      s.unnotified = true;
      log::warn("notify-keyspace-events is \"" + value + "\" on " + s.ep.display() +
                ", now a primary: its changes are not notified (set CONFIG SET "
                "notify-keyspace-events " +
                (c.ok ? std::string("KEA") : c.suggested) +
                " there); until then only a rescan copies its keys");
    } catch (const Error&) {
      // CONFIG refused or the node went away again: nothing more to learn.
    }
    return;
  }
}

// Subscriptions follow the primaries that hold slots: a replica promoted
// by a failover is subscribed to, a node left without slots is dropped. A
// gap of a dropped node's events passes to its successors (rescan once they
// are subscribed), or closes now when its slots went to subscribed nodes.
void KeyspaceListener::follow_topology(SteadyTime now) {
  bool any_down = false;
  for (const auto& s : subs_) any_down = any_down || s->down;
  next_topology_ = now + (any_down ? std::chrono::milliseconds(500) : kTopologyEvery);
  if (!topology_ || !topology_->try_refresh_topology()) return;
  std::vector<Endpoint> want;
  for (const auto& n : topology_->nodes())
    if (n.primary && !n.slots.empty()) want.push_back(n.endpoint);
  auto wanted = [&](const Endpoint& ep) {
    return std::any_of(want.begin(), want.end(),
                       [&](const Endpoint& w) { return w.address() == ep.address(); });
  };
  std::optional<SteadyTime> carried;
  Endpoint carried_from;
  for (auto it = subs_.begin(); it != subs_.end();) {
    Sub& s = **it;
    if (wanted(s.ep)) {
      ++it;
      continue;
    }
    log::info("keyspace notifications: " + s.ep.display() +
              " holds no slots any more (failover or resharding): unsubscribed");
    if (s.gap) {
      carried = std::min(carried.value_or(s.gap_since), s.gap_since);
      carried_from = s.ep;
    }
    it = subs_.erase(it);
  }
  size_t added = 0;
  for (const auto& ep : want) {
    if (std::any_of(subs_.begin(), subs_.end(),
                    [&](const auto& s) { return s->ep.address() == ep.address(); }))
      continue;
    auto sub = std::make_unique<Sub>();
    sub->ep = ep;
    sub->ep.db = 0;
    sub->down = true;
    sub->retry_at = now;
    sub->fresh = true;
    // Events of a node that became primary between two looks are unseen
    // since it did: the gap is at least since the last look (or since the
    // failed node's subscription went down).
    sub->gap = true;
    sub->gap_since = carried.value_or(now);
    log::warn("keyspace notifications: " + ep.display() +
              " now holds slots (a promoted replica or a new primary): subscribing there, then "
              "rescanning");
    moves_.fetch_add(1);
    subs_.push_back(std::move(sub));
    ++added;
  }
  if (carried && added == 0) {
    Sub gone;
    gone.ep = carried_from;
    gone.gap = true;
    gone.gap_since = *carried;
    gap_closed(gone, now);
  }
}

SteadyTime KeyspaceListener::last_event() const {
  return SteadyTime(std::chrono::duration_cast<SteadyTime::duration>(
      std::chrono::nanoseconds(last_event_ns_.load())));
}

void KeyspaceListener::handle(Sub& sub) {
  const size_t prefix_len = pattern_for(keyevent_, db_).size() - 1;  // without '*'
  while (auto r = sub.parser.next()) {
    // ["pmessage", pattern, channel, message]
    if (!r->is_array() || r->elements.size() != 4 || r->elements[0].str != "pmessage") continue;
    const std::string& channel = r->elements[2].str;
    const std::string& message = r->elements[3].str;
    if (channel.size() < prefix_len) continue;
    std::string_view suffix = std::string_view(channel).substr(prefix_len);
    std::string_view key = keyevent_ ? std::string_view(message) : suffix;
    std::string_view event = keyevent_ ? suffix : std::string_view(message);
    auto at = std::chrono::steady_clock::now();
    events_.fetch_add(1, std::memory_order_relaxed);
    Metrics::get().events("received", 1);
    last_event_ns_.store(now_ns(), std::memory_order_relaxed);
    // Reads that missed and key creation (always followed by the write's own
    // event) change nothing.
    if (event == "keymiss" || event == "new") {
      ignored_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    on_key_(key, event, at);
  }
}

void KeyspaceListener::run(std::stop_token token) {
  const std::string pattern = pattern_for(keyevent_, db_);
  std::vector<pollfd> fds;
  std::vector<Sub*> polled;
  while (!token.stop_requested()) {
    fds.clear();
    polled.clear();
    auto now = std::chrono::steady_clock::now();
    if (topology_ && now >= next_topology_) follow_topology(now);
    uint64_t open = 0;
    for (const auto& s : subs_) open += (s->gap || s->unnotified) ? 1 : 0;
    gaps_open_ = open;
    for (auto& s : subs_) {
      if (s->follower && s->follower->switches() != s->switches) {
        // The subscribed primary was demoted: its events stopped; resubscribe
        // on the promoted one (the transport asks the sentinels) and rescan.
        s->switches = s->follower->switches();
        if (!s->gap) s->gap_since = now;
        s->gap = true;
        moves_.fetch_add(1);
        if (!s->down) {
          log::warn("keyspace notifications of " + s->ep.display() +
                    " move to the promoted primary; resubscribing, then rescanning");
          s->transport.reset();
          s->down = true;
          s->retry_at = now;
          reconnects_.fetch_add(1);
        }
      }
      if (s->down) {
        if (now < s->retry_at) continue;
        try {
          subscribe(s->transport, s->parser, s->buf, s->ep, conn_, pattern);
          s->down = false;
          log::info("keyspace notifications of " + s->ep.display() + " subscribed");
          if (std::exchange(s->fresh, false)) check_notify_config(*s);
          gap_closed(*s, now);
        } catch (const ConnectionError&) {
          s->retry_at = now + std::chrono::seconds(1);
          continue;
        }
      }
      fds.push_back({s->transport->fd(), POLLIN, 0});
      polled.push_back(s.get());
    }
    if (fds.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    int rc = ::poll(fds.data(), fds.size(), 100);
    if (rc <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLERR | POLLHUP))) continue;
      Sub& s = *polled[i];
      try {
        // A TLS record is at most 16 KiB and the buffer holds 64, so nothing
        // is left decrypted inside OpenSSL once poll() says the socket is idle.
        size_t n = s.transport->read_some(s.buf.data(), s.buf.size(), conn_.command_timeout);
        s.parser.feed(std::string_view(s.buf.data(), n));
        handle(s);
      } catch (const Error& e) {
        // Output buffer limit hit, server restarted, network: events are lost.
        log::warn("keyspace notifications from " + s.ep.display() + " lost (" + e.what() +
                  "); resubscribing, then rescanning");
        s.transport.reset();
        s.down = true;
        s.retry_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        if (!s.gap) s.gap_since = std::chrono::steady_clock::now();
        s.gap = true;  // a rescan is requested once subscribed again
        reconnects_.fetch_add(1);
        Metrics::get().events("lost_subscription", 1);
        Metrics::get().reconnect("keyspace notifications lost");
        next_topology_ = std::chrono::steady_clock::now();  // a failover, perhaps
      }
    }
  }
}

}  // namespace migcheck

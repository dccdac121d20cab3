// Keyspace notification subscribers (one connection per primary, polled by
// one thread), the coalescing event queue and the notify-keyspace-events check.
// Subscriber connections speak RESP directly over a Transport: Connection
// pairs every reply with a request, and pub/sub messages have none.
#include "live.h"

#include <poll.h>

#include <algorithm>
#include <utility>

#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "resp.h"
#include "sentinel.h"
#include "transport.h"

namespace migcheck {
namespace {

constexpr std::string_view kTypeClasses = "$lshzt";
constexpr std::string_view kAllClasses = "g$lshztxe";

char class_of(std::string_view type) {
  if (type == "string") return '$';
  if (type == "list") return 'l';
  if (type == "set") return 's';
  if (type == "hash") return 'h';
  if (type == "zset") return 'z';
  if (type == "stream") return 't';
  return 0;
}

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
  bool moved = false;  // rescan once resubscribed there
};

KeyspaceListener::KeyspaceListener(const Client& source, int db, bool keyevent, ConnectOptions conn,
                                   Handler on_key)
    : db_(db), keyevent_(keyevent), conn_(std::move(conn)), on_key_(std::move(on_key)) {
  if (!source.cluster()) {
    endpoints_.push_back(source.seed());
  } else {
    for (const auto& n : source.nodes())
      if (n.primary && !n.slots.empty()) endpoints_.push_back(n.endpoint);
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
  std::vector<Command> setup;
  if (!ep.password.empty()) {
    if (ep.user.empty())
      setup.push_back({"AUTH", ep.password});
    else
      setup.push_back({"AUTH", ep.user, ep.password});
  }
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
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void KeyspaceListener::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

ListenerStats KeyspaceListener::stats() const {
  return {events_.load(), ignored_.load(), reconnects_.load()};
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

void KeyspaceListener::run() {
  const std::string pattern = pattern_for(keyevent_, db_);
  std::vector<pollfd> fds;
  std::vector<Sub*> polled;
  while (!stop_) {
    fds.clear();
    polled.clear();
    auto now = std::chrono::steady_clock::now();
    for (auto& s : subs_) {
      if (s->follower && s->follower->switches() != s->switches) {
        // The subscribed primary was demoted: its events stopped; resubscribe
        // on the promoted one (the transport asks the sentinels) and rescan.
        s->switches = s->follower->switches();
        s->moved = true;
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
          if (std::exchange(s->moved, false)) lost_ = true;
          log::info("keyspace notifications of " + s->ep.display() +
                    " resubscribed; rescanning for missed changes");
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
        reconnects_.fetch_add(1);
        Metrics::get().events("lost_subscription", 1);
        Metrics::get().reconnect("keyspace notifications lost");
        lost_ = true;
      }
    }
  }
}

}  // namespace migcheck

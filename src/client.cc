// Routing, redirections, reconnects and topology discovery for Client.
#include "client.h"

#include <algorithm>
#include <charconv>
#include <thread>
#include <utility>

#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "sentinel.h"
#include "stop_token.h"
#include "transient.h"

namespace migcheck {

struct Client::NodeConn {
  std::unique_ptr<Connection> conn;
  std::optional<ClockReading> clock;
  std::chrono::steady_clock::time_point clock_at{};
};

namespace {

Endpoint node_endpoint(const Endpoint& seed, std::string host, int port) {
  Endpoint ep = seed;
  ep.unix_path.clear();
  ep.host = std::move(host);
  ep.port = port;
  ep.db = 0;
  return ep;
}

// "host:port" (host may be "", or a [v6] literal) -> host, port
std::pair<std::string, int> split_address(std::string_view addr, const std::string& fallback_host) {
  auto colon = addr.rfind(':');
  if (colon == std::string_view::npos)
    throw ProtocolError("bad node address '" + std::string(addr) + "'");
  std::string host(addr.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "?") host = fallback_host;
  int port = 0;
  auto p = addr.substr(colon + 1);
  std::from_chars(p.data(), p.data() + p.size(), port);
  // Cluster bus ports come as "port@busport".
  return {host, port};
}

bool is_retry_error(std::string_view code) {
  return transient::is_transient(code);
}

}  // namespace

size_t Client::key_index(const Command& cmd) {
  if (cmd.size() < 2) return 0;
  const std::string& c = cmd[0];
  if (cmd.size() >= 3 && (c == "XINFO" || c == "MEMORY" || c == "OBJECT" || c == "XGROUP"))
    return 2;
  if (c == "EVAL" || c == "EVALSHA" || c == "EVAL_RO" || c == "EVALSHA_RO")
    return cmd.size() >= 4 ? 3 : 0;
  return 1;
}

Client::Client(Endpoint seed, ClientOptions opts) : seed_(std::move(seed)), opts_(std::move(opts)) {
  if (seed_.is_sentinel())
    follower_ = std::make_unique<SentinelFollower>(seed_, opts_.conn.connect_timeout);
  ConnectOptions co = opts_.conn;
  co.fetch_run_id = opts_.watch != nullptr;
  std::unique_ptr<Connection> first;
  try {
    first = std::make_unique<Connection>(seed_, co);
  } catch (const ConnectionError& e) {
    // SELECT of another db is refused by a cluster node before we can tell.
    if (seed_.db != 0 && std::string_view(e.what()).find("cluster mode") != std::string_view::npos)
      throw UsageError(seed_.display() + " is a cluster: cluster mode has only database 0 (db " +
                       std::to_string(seed_.db) + " asked)");
    throw;
  }
  if (opts_.watch) opts_.watch->observe(seed_.address(), first->run_id());
  std::string info;
  Reply r = first->command({"INFO", "cluster"});
  if (r.is_string()) info = r.str;
  bool enabled = info_field(info, "cluster_enabled") == "1";
  if (seed_.cluster.value_or(false) && !enabled)
    throw UsageError(seed_.display() +
                     " is not a cluster node (cluster_enabled:0) but cluster mode was forced");
  if (enabled && seed_.is_sentinel())
    throw UsageError(seed_.display() +
                     " names a cluster node: Sentinel manages standalone servers");
  cluster_ = enabled;
  if (!cluster_) {
    NodeInfo n;
    n.endpoint = seed_;
    nodes_.push_back(n);
    conns_.push_back(std::make_unique<NodeConn>());
    conns_[0]->conn = std::move(first);
    return;
  }
  if (seed_.db != 0)
    throw UsageError(seed_.display() + " is a cluster: cluster mode has only database 0");
  discover(*first);
  // Keep the seed connection for its node when it is one of them.
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].endpoint.address() == seed_.address() && !conns_[i]->conn && nodes_[i].primary) {
      conns_[i]->conn = std::move(first);
      break;
    }
  }
}

Client::~Client() = default;

void Client::discover(Connection& c) {
  std::vector<NodeInfo> found;
  const bool tls = seed_.tls.enabled;
  auto add = [&](NodeInfo n) {
    for (auto& f : found)
      if (f.endpoint.address() == n.endpoint.address()) {
        f.slots.insert(f.slots.end(), n.slots.begin(), n.slots.end());
        return;
      }
    found.push_back(std::move(n));
  };
  Reply shards = c.command({"CLUSTER", "SHARDS"});
  if (!shards.is_error() && shards.is_array()) {
    for (const Reply& shard : shards.elements) {
      const Reply* slots = find_field(shard, "slots");
      const Reply* nodes = find_field(shard, "nodes");
      if (!slots || !nodes || !nodes->is_array()) continue;
      std::vector<std::pair<int, int>> ranges;
      for (size_t i = 0; i + 1 < slots->elements.size(); i += 2)
        ranges.emplace_back(static_cast<int>(slots->elements[i].integer),
                            static_cast<int>(slots->elements[i + 1].integer));
      std::string primary_id;
      for (const Reply& n : nodes->elements) {
        const Reply* role = find_field(n, "role");
        if (role && role->str == "master")
          primary_id = find_field(n, "id") ? find_field(n, "id")->str : "";
      }
      for (const Reply& n : nodes->elements) {
        auto str = [&](const char* f) {
          const Reply* r = find_field(n, f);
          return r && r->is_string() ? r->str : std::string();
        };
        auto num = [&](const char* f) {
          const Reply* r = find_field(n, f);
          return r && r->is_integer() ? r->integer : 0;
        };
        // A dead node is "fail" (Redis 7.0, Valkey 8) or "failed": skipped,
        // except a primary still holding slots (not failed over yet), so
        // its keys wait for the promotion instead of going nowhere.
        const std::string health = str("health");
        const bool dead = health == "fail" || health == "failed";
        if (dead && !(str("role") == "master" && !ranges.empty())) continue;
        std::string host = str("endpoint");
        if (host.empty() || host == "?") host = str("ip");
        if (host.empty() || host == "?") host = seed_.host;
        int port = static_cast<int>(tls && num("tls-port") ? num("tls-port") : num("port"));
        NodeInfo info;
        info.endpoint = node_endpoint(seed_, host, port);
        info.id = str("id");
        info.primary = str("role") == "master";
        if (info.primary)
          info.slots = ranges;
        else
          info.primary_id = primary_id;
        add(std::move(info));
      }
    }
  } else {
    Reply slots = c.command({"CLUSTER", "SLOTS"});
    if (slots.is_error() || !slots.is_array())
      throw ProtocolError("cannot read the cluster topology from " + seed_.display() + ": " +
                          (slots.is_error() ? slots.str : "unexpected reply to CLUSTER SLOTS"));
    for (const Reply& range : slots.elements) {
      if (!range.is_array() || range.elements.size() < 3) continue;
      int lo = static_cast<int>(range.elements[0].integer),
          hi = static_cast<int>(range.elements[1].integer);
      std::string primary_id;
      for (size_t i = 2; i < range.elements.size(); ++i) {
        const auto& n = range.elements[i].elements;
        if (n.size() < 2) continue;
        std::string host = n[0].str;
        if (host.empty() || host == "?") host = seed_.host;
        NodeInfo info;
        info.endpoint = node_endpoint(seed_, host, static_cast<int>(n[1].integer));
        info.id = n.size() > 2 ? n[2].str : "";
        info.primary = i == 2;
        if (info.primary) {
          info.slots = {{lo, hi}};
          primary_id = info.id;
        } else {
          info.primary_id = primary_id;
        }
        add(std::move(info));
      }
    }
  }
  std::stable_partition(found.begin(), found.end(), [](const NodeInfo& n) { return n.primary; });
  if (found.empty() || !found[0].primary)
    throw ProtocolError("cluster " + seed_.display() + " reports no primaries with slots");

  // A replica that now holds slots replaced its primary: as a restart, the
  // run may have lost acknowledged writes there (asynchronous replication).
  if (opts_.watch)
    for (const auto& n : found)
      for (const auto& o : nodes_)
        if (n.primary && !n.slots.empty() && !n.id.empty() && !o.primary && o.id == n.id &&
            !o.primary_id.empty())
          opts_.watch->failed_over(o.primary_id, n.id);
  // Keep existing connections to nodes that are still there.
  std::vector<std::unique_ptr<NodeConn>> conns;
  for (auto& n : found) {
    std::unique_ptr<NodeConn> nc;
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].endpoint.address() == n.endpoint.address() && conns_[i])
        nc = std::move(conns_[i]);
    conns.push_back(nc ? std::move(nc) : std::make_unique<NodeConn>());
  }
  nodes_ = std::move(found);
  conns_ = std::move(conns);
  slot_primary_.fill(0);
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (auto [lo, hi] : nodes_[i].slots)
      for (int s = std::max(lo, 0); s <= std::min(hi, kSlots - 1); ++s)
        slot_primary_[s] = static_cast<uint16_t>(i);
  slot_read_ = slot_primary_;
  if (opts_.read_from_replica) {
    for (size_t p = 0; p < nodes_.size(); ++p) {
      if (!nodes_[p].primary) continue;
      for (size_t r = 0; r < nodes_.size(); ++r) {
        if (nodes_[r].primary || nodes_[r].primary_id != nodes_[p].id) continue;
        for (auto [lo, hi] : nodes_[p].slots)
          for (int s = lo; s <= hi; ++s) slot_read_[s] = static_cast<uint16_t>(r);
        break;
      }
    }
  }
}

void Client::refresh_topology() {
  if (!cluster_) return;
  // From any node that answers: primaries first, then replicas (one of
  // which may be the new primary), then the seed address.
  std::exception_ptr last;
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].primary != (pass == 0)) continue;
      try {
        discover(ensure(i));
        return;
      } catch (const Error&) {
        last = std::current_exception();
      }
    }
  try {
    ConnectOptions co = opts_.conn;
    co.select_db = false;
    Connection seed(seed_, co);
    discover(seed);
    return;
  } catch (const Error&) {
    if (!last) last = std::current_exception();
  }
  if (last) std::rethrow_exception(last);
}

bool Client::try_refresh_topology() {
  try {
    refresh_topology();
    return true;
  } catch (const Error& e) {
    log::debug(std::string("cannot refresh the topology of ") + seed_.display() + ": " + e.what());
    return false;
  }
}

size_t Client::node_for_slot(int slot, bool read) const {
  if (!cluster_) return 0;
  return read && opts_.read_from_replica ? slot_read_[slot] : slot_primary_[slot];
}

std::optional<size_t> Client::node_by_id(std::string_view id) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (!id.empty() && nodes_[i].id == id) return i;
  return std::nullopt;
}

std::vector<size_t> Client::scan_nodes() const {
  std::vector<size_t> out;
  for (size_t p = 0; p < nodes_.size(); ++p) {
    if (!nodes_[p].primary || (cluster_ && nodes_[p].slots.empty())) continue;
    size_t chosen = p;
    if (opts_.read_from_replica)
      for (size_t r = 0; r < nodes_.size(); ++r)
        if (!nodes_[r].primary && nodes_[r].primary_id == nodes_[p].id) {
          chosen = r;
          break;
        }
    out.push_back(chosen);
  }
  return out;
}

Connection& Client::ensure(size_t node) {
  auto& nc = conns_[node];
  if (!nc) nc = std::make_unique<NodeConn>();
  if (nc->conn && !nc->conn->broken()) return *nc->conn;
  nc->conn.reset();
  nc->clock.reset();
  ConnectOptions co = opts_.conn;
  co.select_db = !cluster_;
  co.readonly = cluster_ && !nodes_[node].primary;
  co.fetch_run_id = opts_.watch != nullptr;
  try {
    nc->conn = std::make_unique<Connection>(nodes_[node].endpoint, co);
    if (opts_.watch) opts_.watch->observe(nodes_[node].endpoint.address(), nc->conn->run_id());
  } catch (const ConnectionError& e) {
    if (cluster_ && nodes_[node].endpoint.address() != seed_.address())
      throw ConnectionError(std::string(e.what()) + " (address announced by cluster " +
                                seed_.display() +
                                "; announced addresses must be reachable from here)",
                            e.retryable);
    throw;
  }
  return *nc->conn;
}

Connection& Client::connection(size_t node) {
  return ensure(node);
}

size_t Client::node_index_for(const std::string& address) {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].endpoint.address() == address) return i;
  auto [host, port] = split_address(address, seed_.host);
  NodeInfo n;
  n.endpoint = node_endpoint(seed_, host, port);
  nodes_.push_back(n);
  conns_.push_back(std::make_unique<NodeConn>());
  return nodes_.size() - 1;
}

size_t Client::node_for_key(std::string_view key) const {
  if (!cluster_) return 0;
  int slot = key_slot(key);
  return opts_.read_from_replica ? slot_read_[slot] : slot_primary_[slot];
}

void Client::reconnect_wait(size_t node, const ConnectionError& why,
                            std::chrono::steady_clock::time_point& first_failure) {
  if (!why.retryable) throw why;
  auto now = std::chrono::steady_clock::now();
  if (first_failure == std::chrono::steady_clock::time_point{}) {
    first_failure = now;
    log::warn(std::string(why.what()) + "; reconnecting (for up to " +
              format_duration(opts_.retry_for) + ")");
  }
  auto waited = std::chrono::duration_cast<Millis>(now - first_failure);
  if (waited >= opts_.retry_for)
    throw ConnectionError("giving up on " + nodes_[node].endpoint.display() + " after " +
                              format_duration(opts_.retry_for) + ": " + why.what(),
                          false);
  auto backoff = std::min<Millis>(Millis(2000),
                                  Millis(100) * (1 << std::min<int64_t>(4, waited.count() / 1000)));
  Metrics::get().reconnect("connection lost");
  Metrics::get().waited("UNREACHABLE", static_cast<double>(backoff.count()) / 1000);
  if (stop_token::wait_for(std::min(backoff, opts_.retry_for - waited)))
    throw Interrupted("interrupted while reconnecting to " + nodes_[node].endpoint.display());
  if (node < conns_.size() && conns_[node]) conns_[node]->conn.reset();
}

// A failover the sentinels announced: the next command goes to the promoted
// replica (a demoted primary may go on accepting writes for seconds, which
// its resync then throws away). Called only with no batch in flight.
void Client::follow_failover() {
  if (!follower_ || follower_->switches() == switches_seen_) return;
  switches_seen_ = follower_->switches();
  if (!conns_.empty() && conns_[0]) conns_[0]->conn.reset();
}

Reply Client::on_node(size_t node, const Command& cmd) {
  follow_failover();
  std::chrono::steady_clock::time_point first{};
  transient::Wait wait(opts_.retry_for);
  for (;;) {
    try {
      Reply r = ensure(node).command(cmd);
      if (r.is_error() && is_retry_error(r.error_code()) && wait.more()) {
        wait.pause(r.error_code(), nodes_[node].endpoint.display());
        continue;
      }
      return r;
    } catch (const ConnectionError& e) {
      reconnect_wait(node, e, first);
    }
  }
}

ClockReading Client::clock(size_t node) {
  constexpr auto kClockFor = std::chrono::minutes(1);
  auto& nc = conns_[node];
  const auto now = std::chrono::steady_clock::now();
  if (nc && nc->clock && nc->conn && !nc->conn->broken() && now - nc->clock_at < kClockFor)
    return *nc->clock;
  // Sampled on a connection that is up: a reconnect (and its backoff) in the
  // middle would be taken for clock skew.
  std::chrono::steady_clock::time_point first{};
  for (;;) {
    try {
      ClockReading r = measure_clock(ensure(node));
      conns_[node]->clock = r;
      conns_[node]->clock_at = std::chrono::steady_clock::now();
      return r;
    } catch (const ConnectionError& e) {
      reconnect_wait(node, e, first);
    }
  }
}

bool is_lost_reply(const Reply& r) {
  return r.is_error() && r.error_code() == kLostReplyCode;
}

std::vector<Reply> Client::execute(std::span<const Command> cmds, Resend resend) {
  submit(cmds, resend);
  return collect();
}

void Client::submit(std::span<const Command> cmds, Resend resend) {
  if (in_flight_) throw ProtocolError("internal: a batch is already in flight");
  follow_failover();
  batch_ = cmds;
  batch_resend_ = resend;
  batch_sent_.assign(nodes_.size(), false);
  batch_node_.resize(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    batch_node_[i] = cluster_ ? node_for_key(cmds[i][key_index(cmds[i])]) : 0;
  }
  in_flight_ = true;
  // Write to every node; a node whose connection fails here is retried in collect().
  std::vector<bool> failed(nodes_.size(), false);
  for (size_t i = 0; i < cmds.size(); ++i) {
    size_t n = batch_node_[i];
    if (failed[n]) continue;
    try {
      ensure(n).append(cmds[i]);
      batch_sent_[n] = true;  // appended: flushed below, perhaps in part
    } catch (const ConnectionError&) {
      failed[n] = true;
    }
  }
  for (size_t n = 0; n < nodes_.size(); ++n) {
    if (failed[n] || !conns_[n] || !conns_[n]->conn) continue;
    try {
      conns_[n]->conn->flush();
    } catch (const ConnectionError&) {
    }
  }
}

std::vector<Reply> Client::collect() {
  if (!in_flight_) return {};
  in_flight_ = false;
  const size_t n = batch_.size();
  std::vector<Reply> out(n);
  std::vector<int> attempts(n, 0);
  struct Todo {
    size_t index;
    size_t node;
    bool asking;
  };
  std::vector<Todo> retry;
  bool refresh = false;
  bool demoted = false;  // a sentinel seed's primary answered READONLY
  // Set when a node failed or refused a write as a replica: the topology is
  // read again and every command still to do is routed anew by its key.
  bool reroute = false;
  transient::Wait wait(opts_.retry_for);
  std::string waiting_state, waiting_on;
  const Reply lost = Reply::error(std::string(kLostReplyCode) +
                                  " connection lost before the server answered; the command "
                                  "may or may not have been applied");
  // Commands from `from` of `todo` lost their connection: sent again later,
  // or, when they may have been applied and must not be sent twice, LOST.
  auto unanswered = [&](const std::vector<Todo>& todo, size_t from, bool maybe_sent) {
    for (size_t k = from; k < todo.size(); ++k) {
      if (maybe_sent && batch_resend_ == Resend::Never)
        out[todo[k].index] = lost;
      else
        retry.push_back(todo[k]);
    }
  };

  // Classifies one reply: done, or scheduled again (redirect / retry).
  auto classify = [&](size_t i, size_t node, Reply&& r) {
    if (r.is_error() && cluster_) {
      auto code = r.error_code();
      if ((code == "MOVED" || code == "ASK") && attempts[i] < opts_.max_redirects) {
        ++attempts[i];
        std::string_view rest = std::string_view(r.str).substr(code.size() + 1);
        auto sp = rest.find(' ');
        std::string addr(rest.substr(sp + 1));
        auto [host, port] = split_address(addr, nodes_[node].endpoint.host);
        Endpoint tmp = node_endpoint(seed_, host, port);
        size_t to = node_index_for(tmp.address());
        if (code == "MOVED") {
          int slot = std::stoi(std::string(rest.substr(0, sp)));
          slot_primary_[slot] = static_cast<uint16_t>(to);
          slot_read_[slot] = static_cast<uint16_t>(to);
          refresh = true;
        }
        retry.push_back({i, to, code == "ASK"});
        return;
      }
    }
    if (r.is_error() && wait.more()) {
      auto code = r.error_code();
      // A standalone replica refusing writes is the user's target, not a
      // failover in progress: its READONLY is the key's outcome.
      const bool wrong_primary = cluster_ && transient::is_wrong_primary(code);
      if (is_retry_error(code) || wrong_primary) {
        if (waiting_state.empty()) {
          waiting_state = std::string(code);
          waiting_on = nodes_[node].endpoint.display();
        }
        if (wrong_primary) reroute = true;
        retry.push_back({i, node, false});
        return;
      }
    }
    if (r.is_error() && r.error_code() == "READONLY" && seed_.is_sentinel() &&
        attempts[i] < opts_.max_redirects) {
      // Demoted by a failover: reconnect (asking the sentinels) and resend;
      // a refused write was not applied.
      ++attempts[i];
      demoted = true;
      retry.push_back({i, node, false});
      return;
    }
    if (r.is_error() && (r.error_code() == "MOVED" || r.error_code() == "ASK"))
      throw ConnectionError(
          "too many cluster redirections for one key on " + seed_.display() + ": " + r.str, false);
    out[i] = std::move(r);
  };

  // First pass: read every node's replies in FIFO order.
  std::vector<std::vector<Todo>> per_node(nodes_.size());
  for (size_t i = 0; i < n; ++i) per_node[batch_node_[i]].push_back({i, batch_node_[i], false});
  for (size_t node = 0; node < per_node.size(); ++node) {
    auto& idx = per_node[node];
    if (idx.empty()) continue;
    size_t got = 0;
    try {
      Connection* c = conns_[node] ? conns_[node]->conn.get() : nullptr;
      if (!c || c->broken() || c->pending() < idx.size())
        throw ConnectionError("connection to " + nodes_[node].endpoint.display() + " lost");
      for (; got < idx.size(); ++got) classify(idx[got].index, node, c->read());
    } catch (const ConnectionError& e) {
      if (!e.retryable) throw;
      if (conns_[node]) conns_[node]->conn.reset();
      if (cluster_) reroute = true;
      unanswered(idx, got, node < batch_sent_.size() && batch_sent_[node]);
    }
  }

  // Then redirects and retries, node by node, until nothing is left.
  std::chrono::steady_clock::time_point first_failure{};
  while (!retry.empty()) {
    std::vector<Todo> todo;
    todo.swap(retry);
    if (std::exchange(demoted, false)) {
      // Demoted by a failover: give the sentinels a moment, then reconnect
      // through them.
      if (stop_token::wait_for(Millis(250)))
        throw Interrupted("interrupted while following a failover of " + seed_.display());
      if (conns_[0]) conns_[0]->conn.reset();
    }
    if (!waiting_state.empty()) {
      wait.pause(waiting_state, waiting_on);
      waiting_state.clear();
    }
    if (reroute && cluster_) {
      reroute = false;
      if (try_refresh_topology())
        for (auto& t : todo) {
          t.node = node_for_key(batch_[t.index][key_index(batch_[t.index])]);
          t.asking = false;
        }
    }
    std::vector<std::vector<Todo>> groups(nodes_.size());
    for (auto& t : todo) {
      if (t.node >= groups.size()) groups.resize(nodes_.size());
      groups[t.node].push_back(t);
    }
    for (size_t node = 0; node < groups.size(); ++node) {
      auto& g = groups[node];
      if (g.empty()) continue;
      size_t got = 0;
      bool sent = false;
      try {
        Connection& c = ensure(node);
        sent = true;
        for (auto& t : g) {
          if (t.asking) c.append(make_command({"ASKING"}));
          c.append(batch_[t.index]);
        }
        for (; got < g.size(); ++got) {
          if (g[got].asking) c.read();
          classify(g[got].index, node, c.read());
        }
        first_failure = {};
      } catch (const ConnectionError& e) {
        if (cluster_) reroute = true;  // a failover may have moved its slots
        if (sent && batch_resend_ == Resend::Never) {
          if (!e.retryable) throw;
          if (conns_[node]) conns_[node]->conn.reset();
        } else {
          reconnect_wait(node, e, first_failure);
        }
        unanswered(g, got, sent);
      }
    }
  }
  if (refresh) {
    try {
      refresh_topology();
    } catch (const ConnectionError& e) {
      log::warn(std::string("cannot refresh cluster topology: ") + e.what());
    }
  }
  return out;
}

}  // namespace migcheck

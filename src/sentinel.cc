// Sentinel queries (SENTINEL GET-MASTER-ADDR-BY-NAME / MASTER / REPLICAS)
// and the +switch-master follower. See sentinel.h.
#include "sentinel.h"

#include <poll.h>

#include <charconv>
#include <mutex>

#include "auth_commands.h"
#include "connection.h"
#include "errors.h"
#include "log.h"
#include "resp.h"
#include "transport.h"

namespace migcheck {
namespace {

// AUTH to a sentinel that has no password configured fails harmlessly (the
// connection stays usable): the URI's password is the data nodes' first.
bool auth_not_needed(const std::string& error) {
  return error.find("without any password configured") != std::string::npos;
}

// A connection to one sentinel, authenticated as above.
std::unique_ptr<Connection> open_sentinel(const Endpoint& sep, Millis timeout) {
  Endpoint plain = sep;
  plain.user.clear();
  plain.password.clear();
  ConnectOptions co;
  co.connect_timeout = timeout;
  co.command_timeout = timeout;
  co.select_db = false;
  co.client_name.clear();  // CLIENT before AUTH would be refused by a protected sentinel
  co.caller_authenticates = true;
  auto c = std::make_unique<Connection>(plain, co);
  for (const auto& cmd : auth_commands(sep)) {
    Reply r = c->command(cmd);
    if (r.is_error() && !auth_not_needed(r.str))
      throw ConnectionError("authentication failed for sentinel " + sep.address() + ": " + r.str,
                            false);
  }
  return c;
}

int to_port(const std::string& s) {
  int port = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
  if (ec != std::errc() || p != s.data() + s.size() || port <= 0 || port > 65535)
    throw ProtocolError("sentinel gave a bad port '" + s + "'");
  return port;
}

std::string field(const Reply& map, std::string_view name) {
  const Reply* r = find_field(map, name);
  return r && r->is_string() ? r->str : std::string();
}

std::string host_port(const std::string& host, const std::string& port) {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
}

// Every client of a run follows the same announcement: said once.
void announce(const std::string& msg) {
  static std::mutex mu;
  static std::string last;
  std::lock_guard lock(mu);
  if (msg == last) return;
  last = msg;
  log::info(msg);
}

}  // namespace

Endpoint sentinel_endpoint(const Endpoint& ep, size_t index) {
  Endpoint s;
  s.host = ep.sentinels.at(index).host;
  s.port = ep.sentinels.at(index).port;
  s.user = ep.sentinel_user.empty() && ep.sentinel_password.empty() ? ep.user : ep.sentinel_user;
  s.password = ep.sentinel_password.empty() ? ep.password : ep.sentinel_password;
  s.tls = ep.tls;
  return s;
}

PrimaryLocation locate_primary(const Endpoint& ep, Millis timeout) {
  std::string why;
  bool retryable = false;
  for (size_t i = 0; i < ep.sentinels.size(); ++i) {
    const std::string addr = ep.sentinels[i].address();
    try {
      auto c = open_sentinel(sentinel_endpoint(ep, i), timeout);
      Reply r = c->command({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", ep.sentinel_master});
      if (r.is_array() && r.elements.size() == 2 && r.elements[0].is_string()) {
        PrimaryLocation loc;
        loc.primary = ep;
        loc.primary.sentinels.clear();
        loc.primary.sentinel_user.clear();
        loc.primary.sentinel_password.clear();
        loc.primary.host = r.elements[0].str;
        loc.primary.port = to_port(r.elements[1].str);
        loc.answered_by = addr;
        return loc;
      }
      why += "; " + addr + ": " +
             (r.is_error() ? r.str : "knows no primary named '" + ep.sentinel_master + "'");
    } catch (const ConnectionError& e) {
      why += "; " + addr + ": " + e.what();
      retryable = retryable || e.retryable;
    } catch (const ProtocolError& e) {
      why += "; " + addr + ": " + e.what();
      retryable = true;
    }
  }
  throw ConnectionError("no sentinel of " + ep.display() + " gave the primary's address" + why,
                        retryable);
}

SentinelView sentinel_view(const Endpoint& ep, Millis timeout) {
  SentinelView v;
  v.master = ep.sentinel_master;
  for (size_t i = 0; i < ep.sentinels.size(); ++i) {
    SentinelReport rep;
    rep.address = ep.sentinels[i].address();
    try {
      auto c = open_sentinel(sentinel_endpoint(ep, i), timeout);
      Reply m = c->command({"SENTINEL", "MASTER", ep.sentinel_master});
      if (m.is_error() || !m.is_array()) {
        rep.error = m.is_error() ? m.str : "unexpected reply " + m.summary();
      } else {
        rep.answered = true;
        if (v.answered_by.empty()) {
          v.answered_by = rep.address;
          v.primary = host_port(field(m, "ip"), field(m, "port"));
          v.flags = field(m, "flags");
          std::string q = field(m, "quorum"), o = field(m, "num-other-sentinels");
          std::from_chars(q.data(), q.data() + q.size(), v.quorum);
          std::from_chars(o.data(), o.data() + o.size(), v.other_sentinels);
          Reply reps = c->command({"SENTINEL", "REPLICAS", ep.sentinel_master});
          if (reps.is_error())  // before Redis 5
            reps = c->command({"SENTINEL", "SLAVES", ep.sentinel_master});
          if (reps.is_array())
            for (const Reply& r : reps.elements)
              v.replicas.push_back({host_port(field(r, "ip"), field(r, "port")), field(r, "flags"),
                                    field(r, "master-link-status")});
        }
      }
    } catch (const Error& e) {
      rep.error = e.what();
    }
    v.sentinels.push_back(std::move(rep));
  }
  if (v.answered_by.empty()) {
    std::string why;
    for (const auto& s : v.sentinels) why += "; " + s.address + ": " + s.error;
    throw ConnectionError("no sentinel of " + ep.display() + " answered" + why, false);
  }
  return v;
}

nlohmann::json to_json(const SentinelView& v) {
  nlohmann::json replicas = nlohmann::json::array(), sentinels = nlohmann::json::array();
  for (const auto& r : v.replicas)
    replicas.push_back(
        {{"address", r.address}, {"flags", r.flags}, {"link_status", r.link_status}});
  for (const auto& s : v.sentinels) {
    nlohmann::json j = {{"address", s.address}, {"answered", s.answered}};
    if (!s.answered) j["error"] = s.error;
    sentinels.push_back(std::move(j));
  }
  return {{"master", v.master},
          {"primary", v.primary},
          {"flags", v.flags},
          {"quorum", v.quorum},
          {"answered_by", v.answered_by},
          {"other_sentinels", v.other_sentinels},
          {"replicas", replicas},
          {"sentinels", sentinels}};
}

// ---------------------------------------------------------------------------

SentinelFollower::SentinelFollower(Endpoint ep, Millis timeout)
    : ep_(std::move(ep)), timeout_(std::min<Millis>(timeout, Millis(1000))) {
  thread_ = std::thread([this] { run(); });
}

SentinelFollower::~SentinelFollower() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void SentinelFollower::run() {
  std::vector<char> buf(64 * 1024);
  for (size_t next = 0; !stop_; ++next) {
    const Endpoint sep = sentinel_endpoint(ep_, next % ep_.sentinels.size());
    try {
      Transport t(sep, timeout_);
      std::vector<Command> setup = auth_commands(sep);
      setup.push_back({"SUBSCRIBE", "+switch-master"});
      std::string out;
      for (const auto& c : setup) append_command(out, c);
      t.write_all(out, timeout_);
      ReplyParser parser;
      size_t replies = 0;
      while (!stop_) {
        pollfd p{t.fd(), POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        // 64 KiB holds any TLS record, so nothing stays decrypted in OpenSSL.
        size_t n = t.read_some(buf.data(), buf.size(), timeout_);
        parser.feed(std::string_view(buf.data(), n));
        while (auto r = parser.next()) {
          if (replies++ < setup.size() - 1 && r->is_error() && !auth_not_needed(r->str))
            throw ConnectionError("authentication failed for sentinel " + sep.address(), false);
          // ["message", "+switch-master", "name oldip oldport newip newport"]
          if (!r->is_array() || r->elements.size() != 3 || r->elements[0].str != "message")
            continue;
          const std::string& msg = r->elements[2].str;
          if (msg.compare(0, ep_.sentinel_master.size() + 1, ep_.sentinel_master + " ") != 0)
            continue;
          announce(ep_.display() + " failed over (sentinel " + sep.address() + ": +switch-master " +
                   msg + ")");
          ++switches_;
        }
      }
    } catch (const Error& e) {
      log::debug("following failovers through sentinel " + sep.address() + ": " + e.what());
    }
    for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(Millis(100));
  }
}

}  // namespace migcheck

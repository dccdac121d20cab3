// Server identity: probing, comparing, and the refusals built on them.
#include "identity.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "errors.h"
#include "log.h"
#include "reply.h"

namespace migcheck {
namespace {

bool overlap(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const auto& x : a)
    if (!x.empty() && std::find(b.begin(), b.end(), x) != b.end()) return true;
  return false;
}

void add_unique(std::vector<std::string>& v, std::string s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

std::vector<std::string> strings(const nlohmann::json& j, const char* name) {
  std::vector<std::string> out;
  if (auto it = j.find(name); it != j.end() && it->is_array())
    for (const auto& s : *it)
      if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
  return out;
}

// The recorded identity of a run's side, from its stored server facts.
std::optional<ServerIdentity> recorded_identity(std::string_view info_json) {
  if (info_json.empty()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(info_json, nullptr, false);
  if (!j.is_object() || !j.contains("identity") || !j["identity"].is_object()) return std::nullopt;
  ServerIdentity id = identity_from_json(j["identity"]);
  if (id.empty()) return std::nullopt;
  return id;
}

}  // namespace

std::vector<std::string> resolved_addresses(const Endpoint& ep) {
  std::vector<std::string> out;
  if (ep.is_unix()) {
    std::error_code ec;
    auto p = std::filesystem::weakly_canonical(ep.unix_path, ec);
    out.push_back("unix:" + (ec ? ep.unix_path : p.string()));
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(ep.host.c_str(), nullptr, &hints, &res) != 0 || !res) {
    out.push_back(ep.address());
    return out;
  }
  for (addrinfo* a = res; a; a = a->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (a->ai_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(a->ai_addr);
      if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf))
        add_unique(out, std::string(buf) + ":" + std::to_string(ep.port));
    } else if (a->ai_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(a->ai_addr);
      if (::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf))
        add_unique(out, "[" + std::string(buf) + "]:" + std::to_string(ep.port));
    }
  }
  ::freeaddrinfo(res);
  return out;
}

ServerIdentity probe_identity(Client& client) {
  ServerIdentity id;
  bool info_refused = false;
  const auto scan = client.scan_nodes();
  for (size_t i = 0; i < client.nodes().size(); ++i) {
    const NodeInfo& n = client.nodes()[i];
    add_unique(id.node_ids, n.id);
    for (auto& a : resolved_addresses(n.endpoint)) add_unique(id.addresses, std::move(a));
    // Only the nodes the commands use anyway: a replica may be unreachable
    // from here (announced on a private address) without harm.
    if (!n.primary && std::find(scan.begin(), scan.end(), i) == scan.end()) continue;
    ++id.nodes;
    Reply r = client.on_node(i, {"INFO", "server"});
    std::string run_id = r.is_string() ? info_field(r.str, "run_id") : std::string();
    if (run_id.empty()) {
      info_refused = true;
      continue;
    }
    // One per node, duplicates kept out so complete() counts nodes.
    if (std::find(id.run_ids.begin(), id.run_ids.end(), run_id) == id.run_ids.end())
      id.run_ids.push_back(run_id);
    else
      --id.nodes;
  }
  if (info_refused)
    id.gaps.push_back(std::string("INFO refused: run_id unknown, identity told by ") +
                      (id.node_ids.empty() ? "address" : "cluster node ids") + " only");
  return id;
}

nlohmann::json to_json(const ServerIdentity& id) {
  return {{"run_ids", id.run_ids},
          {"node_ids", id.node_ids},
          {"addresses", id.addresses},
          {"nodes", id.nodes},
          {"gaps", id.gaps}};
}

ServerIdentity identity_from_json(const nlohmann::json& j) {
  ServerIdentity id;
  if (!j.is_object()) return id;
  id.run_ids = strings(j, "run_ids");
  id.node_ids = strings(j, "node_ids");
  id.addresses = strings(j, "addresses");
  id.gaps = strings(j, "gaps");
  if (auto it = j.find("nodes"); it != j.end() && it->is_number_unsigned())
    id.nodes = it->get<size_t>();
  return id;
}

Sameness same_server(const ServerIdentity& a, const ServerIdentity& b) {
  if (overlap(a.run_ids, b.run_ids) || overlap(a.node_ids, b.node_ids)) return Sameness::kSame;
  if (a.complete() && b.complete()) return Sameness::kDifferent;
  // Without run_ids on both sides, the address is the best evidence left.
  if (overlap(a.addresses, b.addresses)) return Sameness::kSame;
  return Sameness::kUnknown;
}

PairIdentity refuse_same_server(std::string_view command, const Endpoint& source,
                                const ClientOptions& source_opts, const Endpoint& target,
                                const ClientOptions& target_opts) {
  PairIdentity p;
  bool cluster = false;
  try {
    ClientOptions so = source_opts, to = target_opts;
    so.retry_for = to.retry_for = Millis(0);  // a side that is down fails the command itself
    Client src(source, so);
    p.source = probe_identity(src);
    Client tgt(target, to);
    p.target = probe_identity(tgt);
    cluster = src.cluster() || tgt.cluster();
  } catch (const ConnectionError&) {
    // Unreachable now: the command's own connection fails with its own words
    // (and records the run as failed); nothing ran that could harm.
    p.unreachable = true;
    return p;
  }
  const Sameness s = same_server(p.source, p.target);
  if (s == Sameness::kSame) {
    if (cluster || source.db == target.db)
      throw UsageError(std::string(command) + " refused: " + source.display() + " and " +
                       target.display() + " are the same server" +
                       (overlap(p.source.run_ids, p.target.run_ids)     ? " (same INFO run_id)"
                        : overlap(p.source.node_ids, p.target.node_ids) ? " (same cluster node ids)"
                                                                        : " (same address)") +
                       " and the same database " + std::to_string(source.db) +
                       ": give the target of the migration");
    log::info("source and target are one server, databases " + std::to_string(source.db) + " and " +
              std::to_string(target.db));
  }
  if (s != Sameness::kDifferent && (!p.source.gaps.empty() || !p.target.gaps.empty()))
    log::warn("could not fully check that source and target are different servers (" +
              join(p.source.gaps.empty() ? p.target.gaps : p.source.gaps) + ")");
  return p;
}

void refuse_other_server(std::string_view what, std::string_view side,
                         const ServerIdentity& current, std::string_view info_json,
                         std::string_view recorded, const Endpoint& ep) {
  auto then = recorded_identity(info_json);
  if (!then) {
    // A run recorded before identities were: the endpoint text is all there is.
    if (recorded != ep.display())
      log::warn(std::string(what) + ": its " + std::string(side) + " was " + std::string(recorded) +
                ", not " + ep.display() +
                " (the run recorded no server identity to tell whether that is the same server)");
    return;
  }
  // A restart or failover under the same name gives a new run_id: the
  // address (or the name) still says it is that server, and the engines
  // notice the restart themselves.
  if (overlap(then->run_ids, current.run_ids) || overlap(then->node_ids, current.node_ids) ||
      overlap(then->addresses, current.addresses) || recorded == ep.display())
    return;
  throw UsageError(std::string(what) + ": its " + std::string(side) + " was " +
                   std::string(recorded) + ", and " + ep.display() +
                   " is another server; give the run's own " + std::string(side));
}

void refuse_other_servers(std::string_view what, const PairIdentity& now,
                          std::string_view source_info_json, std::string_view target_info_json,
                          std::string_view recorded_source, std::string_view recorded_target,
                          const Endpoint& source, const Endpoint& target) {
  if (now.unreachable) return;
  refuse_other_server(what, "source", now.source, source_info_json, recorded_source, source);
  refuse_other_server(what, "target", now.target, target_info_json, recorded_target, target);
}

void refuse_resume_elsewhere(Store& store, int64_t resume, const PairIdentity& now,
                             const Endpoint& source, const Endpoint& target) {
  if (resume <= 0) return;
  if (auto rec = store.run(resume))
    refuse_other_servers("cannot resume run " + std::to_string(resume), now, rec->source_info_json,
                         rec->target_info_json, rec->source, rec->target, source, target);
}

void refuse_resume_target_elsewhere(Store& store, int64_t resume, const Endpoint& target,
                                    const ClientOptions& target_opts) {
  if (resume <= 0) return;
  auto rec = store.run(resume);
  if (!rec) return;
  ServerIdentity now;
  try {
    ClientOptions to = target_opts;
    to.retry_for = Millis(0);  // a target that is down fails the command itself
    Client tgt(target, to);
    now = probe_identity(tgt);
  } catch (const ConnectionError&) {
    return;  // the command's own connection reports it
  }
  refuse_other_server("cannot resume run " + std::to_string(resume), "target", now,
                      rec->target_info_json, rec->target, target);
}

}  // namespace migcheck

// Which server process (or cluster) an endpoint reaches, so that one server
// reached under two names (127.0.0.1 and localhost, a unix socket and its TCP
// port) is recognised: INFO's run_id per node, cluster node ids, and the
// resolved addresses as a fallback for users that may not run INFO. Owns the
// "source and target are the same server" refusal shared by compare, repair
// and replicate, and the check of a run's recorded servers against the
// servers a later command reaches.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "client.h"
#include "store.h"
#include "uri.h"

namespace migcheck {

struct ServerIdentity {
  std::vector<std::string> run_ids;    // INFO server run_id of each node that answered
  std::vector<std::string> node_ids;   // cluster node ids (empty standalone)
  std::vector<std::string> addresses;  // resolved "ip:port" of each node, or "unix:<path>"
  std::vector<std::string> gaps;       // what could not be read, for people
  size_t nodes = 0;                    // nodes asked
  // Every node told its run_id: a match or mismatch of run_ids is conclusive.
  bool complete() const { return nodes > 0 && run_ids.size() == nodes; }
  bool empty() const { return run_ids.empty() && node_ids.empty() && addresses.empty(); }
};

// Reads the identity of every node of `client`: INFO server (run_id), the
// cluster node ids the client discovered, the resolved addresses. Never
// throws for a refused INFO (that is recorded in gaps).
ServerIdentity probe_identity(Client& client);

nlohmann::json to_json(const ServerIdentity& id);
ServerIdentity identity_from_json(const nlohmann::json& j);

enum class Sameness {
  kDifferent,  // conclusively other servers
  kSame,       // a run_id or node id in common, or (without run_ids) an address in common
  kUnknown,    // no run_id to go by and no address in common: probably different
};
Sameness same_server(const ServerIdentity& a, const ServerIdentity& b);

// The numeric addresses `host` resolves to, each with ":port" ("[v6]:port").
std::vector<std::string> resolved_addresses(const Endpoint& ep);

// Before a command runs: connects to both sides and refuses (UsageError,
// exit 2) when they are one server and the databases are the same (every key
// would compare equal; a copy would write each key onto itself). Warns when
// the identity could not be fully checked. Returns both identities; a side
// that cannot be reached is left to the command's own connection to report.
struct PairIdentity {
  ServerIdentity source, target;
  bool unreachable = false;  // a side did not answer: nothing was checked
};
PairIdentity refuse_same_server(std::string_view command, const Endpoint& source,
                                const ClientOptions& source_opts, const Endpoint& target,
                                const ClientOptions& target_opts);

// One side of refuse_other_servers: the run recorded `recorded` (its
// endpoint as displayed) with server facts `info_json` for its `side`
// ("target"), and `ep` reaches `current` now. A snapshot file source has no
// server to check: its commands check the target side alone.
void refuse_other_server(std::string_view what, std::string_view side,
                         const ServerIdentity& current, std::string_view info_json,
                         std::string_view recorded, const Endpoint& ep);
// A run recorded with server facts `source_info_json` / `target_info_json`
// (as the store keeps them) is being continued or acted upon against `now`:
// throws UsageError naming `what` ("cannot resume run 4", "cannot repair
// compare run 3") when a side is conclusively another server. Old runs
// without a recorded identity fall back to the endpoints' display strings.
// Does nothing when `now` is unreachable.
void refuse_other_servers(std::string_view what, const PairIdentity& now,
                          std::string_view source_info_json, std::string_view target_info_json,
                          std::string_view recorded_source, std::string_view recorded_target,
                          const Endpoint& source, const Endpoint& target);
// The same for run `resume` of `store` (nothing when resume is 0): a
// `--resume` against servers other than the run's is refused.
void refuse_resume_elsewhere(Store& store, int64_t resume, const PairIdentity& now,
                             const Endpoint& source, const Endpoint& target);
// The same for a run whose source is a snapshot file: its target alone.
void refuse_resume_target_elsewhere(Store& store, int64_t resume, const Endpoint& target,
                                    const ClientOptions& target_opts);

}  // namespace migcheck

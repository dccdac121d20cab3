// What migcheck knows about a server: engine, version, topology, memory,
// eviction, keyspace notifications, the RDB version of its DUMP payloads and
// its identity (run_id, cluster node ids). Gathered read-only (INFO, CONFIG
// GET, RANDOMKEY + DUMP); a refused CONFIG or INFO is a fact ("unknown (CONFIG
// not allowed)", unchecked), never a failure.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client.h"
#include "identity.h"

namespace migcheck {

struct NodeFacts {
  std::string address;
  std::string role;  // "primary" / "replica"
  std::vector<std::pair<int, int>> slots;
  int64_t keys = 0;
};

struct ServerFacts {
  std::string endpoint;  // display form, no password
  std::string engine;    // "redis" or "valkey"
  std::string version;
  std::string mode;  // "standalone" or "cluster"
  std::string role;  // "master" / "slave" (INFO replication role)
  bool tls = false;
  std::map<int, int64_t> keys_per_db;  // from INFO keyspace, summed over primaries
  int64_t used_memory = -1;
  int64_t maxmemory = -1;  // 0 = unlimited
  std::string maxmemory_policy;
  std::string notify_keyspace_events;  // or "unknown (CONFIG not allowed)"
  bool config_allowed = false;
  std::optional<int> rdb_version;  // read off a real DUMP
  std::string rdb_version_note;    // why it is unknown
  std::vector<NodeFacts> nodes;    // cluster topology (one entry standalone)
  // INFO refused (a user limited to @read): engine, memory, restarts and the
  // other dbs are unknown; keys_per_db then holds the connected db alone
  // (DBSIZE), and keyspace_known is false.
  bool info_allowed = true;
  bool keyspace_known = true;
  std::vector<std::string> unchecked;      // what could not be checked, for people
  std::optional<ServerIdentity> identity;  // recorded since identities are
};

// Streams' entries-added, max-deleted-entry-id and groups' entries-read:
// Redis 7.0 and later, and every Valkey.
bool keeps_stream_counters(const ServerFacts& f);

ServerFacts gather_facts(Client& client);
nlohmann::json to_json(const ServerFacts& f);
ServerFacts facts_from_json(const nlohmann::json& j);

// The RDB version in the footer of a DUMP payload, if it looks like one.
std::optional<int> dump_rdb_version(std::string_view payload);

// The RDB version a release writes, from its engine ("redis"/"valkey") and
// version: Redis 7.0 = 10, 7.2 = 11, 7.4 and 8.x = 12; Valkey 7.2-8.x = 11,
// 9.x = 80. Used only when no real DUMP could be read; nullopt when unknown.
std::optional<int> known_rdb_version(std::string_view engine, std::string_view version);

// Whether a target writing RDB version `target_rdb` accepts DUMP payloads of
// `source_rdb` by default: never a newer one, and Valkey 9+ (RDB 80) refuses
// 12-79, the range Redis 7.4+ uses for its own format.
bool restore_accepts(int source_rdb, std::string_view target_engine, int target_rdb);

// CONFIG GET name on one node; nullopt when CONFIG is refused or renamed away.
std::optional<std::string> config_get(Client& client, size_t node, const std::string& name);

}  // namespace migcheck

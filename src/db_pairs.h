// Which databases a compare / replicate covers: pairs of a source db and the
// target db it is compared with or copied into. Every db that holds keys on
// either side by default; --db / --target-db, a db in a URI, or --db-map
// ("0:0,3:5") narrow it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "uri.h"

namespace migcheck {

struct ServerFacts;

struct DbPair {
  int source = 0;
  int target = 0;
  bool operator==(const DbPair&) const = default;
};

// "0:0,3:5" -> {0,0},{3,5}. Throws UsageError on bad syntax, or a source or
// target db named twice.
std::vector<DbPair> parse_db_map(std::string_view text);

// The pairs the command line asks for; empty = every db that holds keys
// (discover_db_pairs). `source`/`target` are resolve_sides' endpoints,
// `db`/`target_db` the flags (-1 unset). Throws UsageError when --db-map is
// combined with --db / --target-db or a db in a URI.
std::vector<DbPair> chosen_db_pairs(const Endpoint& source, const Endpoint& target, int db,
                                    int target_db, std::string_view db_map);

// Every db that holds keys on either side, each compared with the same db
// on the other side (INFO keyspace); db 0 when neither side holds any. A
// side whose INFO is refused contributes db 0 only, and `warning` says so.
std::vector<DbPair> discover_db_pairs(const ServerFacts& source, const ServerFacts& target,
                                      std::string& warning);

// What options ask for: `pairs` when given, else every db (empty) with
// `all_dbs`, else the endpoints' one pair.
std::vector<DbPair> requested_db_pairs(const std::vector<DbPair>& pairs, bool all_dbs,
                                       const Endpoint& source, const Endpoint& target);

// The pairs a run covers: requested_db_pairs, else discover_db_pairs (its
// warning logged). Throws UsageError for a db other than 0 on a cluster.
std::vector<DbPair> resolve_db_pairs(const std::vector<DbPair>& pairs, bool all_dbs,
                                     const Endpoint& source, const Endpoint& target,
                                     const ServerFacts& source_facts,
                                     const ServerFacts& target_facts);

// "db 0", "db 3 -> db 5", "dbs 0, 3 -> 5" for logs and summaries.
std::string describe_db_pairs(const std::vector<DbPair>& pairs);

// A run's recorded options: "db" and "target_db" for one pair, "db_map"
// (and "target_db" as {"<source db>": target db}, the form reports read) for
// several, "all_dbs" when every db was covered.
void add_db_options(nlohmann::json& options, const std::vector<DbPair>& pairs);
// The pairs recorded by add_db_options (empty: every db).
std::vector<DbPair> db_pairs_from_options(const nlohmann::json& options);
// The target db a run's options map `source_db` to (identity when unmapped).
int target_db_for(const nlohmann::json& options, int source_db);

nlohmann::json db_pairs_json(const std::vector<DbPair>& pairs);   // [[0,0],[3,5]]
std::vector<DbPair> db_pairs_from_json(const nlohmann::json& j);  // empty on anything else

}  // namespace migcheck

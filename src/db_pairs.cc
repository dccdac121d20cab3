// Database pairs: --db-map parsing, narrowing by flags and URIs, discovery
// from INFO keyspace (see db_pairs.h).
#include "db_pairs.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "errors.h"
#include "log.h"
#include "server_info.h"

namespace migcheck {
namespace {

int parse_db(std::string_view s, std::string_view whole) {
  int v = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0 || v > (1 << 20))
    throw UsageError("--db-map '" + std::string(whole) +
                     "': expected SOURCE_DB:TARGET_DB pairs separated by commas, e.g. 0:0,3:5");
  return v;
}

}  // namespace

std::vector<DbPair> parse_db_map(std::string_view text) {
  std::vector<DbPair> out;
  std::set<int> sources, targets;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const size_t colon = item.find(':');
    if (colon == std::string_view::npos) parse_db("", text);  // throws
    DbPair p{parse_db(item.substr(0, colon), text), parse_db(item.substr(colon + 1), text)};
    if (!sources.insert(p.source).second)
      throw UsageError("--db-map names source db " + std::to_string(p.source) + " twice");
    if (!targets.insert(p.target).second)
      throw UsageError("--db-map names target db " + std::to_string(p.target) + " twice");
    out.push_back(p);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<DbPair> chosen_db_pairs(const Endpoint& source, const Endpoint& target, int db,
                                    int target_db, std::string_view db_map) {
  if (!db_map.empty()) {
    if (db >= 0 || target_db >= 0 || source.db_given || target.db_given)
      throw UsageError("--db-map cannot be combined with --db, --target-db or a db in a URI");
    return parse_db_map(db_map);
  }
  if (db >= 0 || target_db >= 0 || source.db_given || target.db_given)
    return {DbPair{source.db, target.db}};
  return {};
}

std::vector<DbPair> discover_db_pairs(const ServerFacts& source, const ServerFacts& target,
                                      std::string& warning) {
  std::set<int> dbs;
  for (const ServerFacts* f : {&source, &target}) {
    if (f->version.empty() && f->keys_per_db.empty()) {
      warning = "cannot read INFO keyspace on " + f->endpoint +
                ": only db 0 is covered (name the databases with --db or --db-map)";
      dbs.insert(0);
      continue;
    }
    for (const auto& [db, keys] : f->keys_per_db)
      if (keys > 0) dbs.insert(db);
  }
  if (dbs.empty()) dbs.insert(0);
  std::vector<DbPair> out;
  for (int d : dbs) out.push_back({d, d});
  return out;
}

std::vector<DbPair> requested_db_pairs(const std::vector<DbPair>& pairs, bool all_dbs,
                                       const Endpoint& source, const Endpoint& target) {
  if (!pairs.empty() || all_dbs) return pairs;
  return {DbPair{source.db, target.db}};
}

std::vector<DbPair> resolve_db_pairs(const std::vector<DbPair>& pairs, bool all_dbs,
                                     const Endpoint& source, const Endpoint& target,
                                     const ServerFacts& sf, const ServerFacts& tf) {
  std::vector<DbPair> out = requested_db_pairs(pairs, all_dbs, source, target);
  if (out.empty()) {
    std::string warning;
    out = discover_db_pairs(sf, tf, warning);
    if (!warning.empty()) log::warn(warning);
  }
  for (const DbPair& p : out)
    for (const auto& [f, db] : {std::pair{&sf, p.source}, {&tf, p.target}})
      if (f->mode == "cluster" && db != 0)
        throw UsageError(f->endpoint + " is a cluster: cluster mode has only database 0 (db " +
                         std::to_string(db) + " asked; map it with --db-map SRC:0)");
  return out;
}

std::string describe_db_pairs(const std::vector<DbPair>& pairs) {
  std::string s;
  for (const auto& p : pairs) {
    s += s.empty() ? "db " : ", db ";
    s += std::to_string(p.source);
    if (p.target != p.source) s += " -> db " + std::to_string(p.target);
  }
  return s.empty() ? "no db" : s;
}

void add_db_options(nlohmann::json& j, const std::vector<DbPair>& pairs) {
  if (pairs.empty()) {
    j["all_dbs"] = true;
  } else if (pairs.size() == 1) {
    j["db"] = pairs[0].source;
    j["target_db"] = pairs[0].target;
  } else {
    j["db_map"] = db_pairs_json(pairs);
    nlohmann::json m = nlohmann::json::object();
    for (const auto& p : pairs) m[std::to_string(p.source)] = p.target;
    j["target_db"] = m;
  }
}

std::vector<DbPair> db_pairs_from_options(const nlohmann::json& j) {
  if (!j.is_object()) return {};
  if (auto db = j.find("db"); db != j.end() && db->is_number_integer()) {
    auto t = j.find("target_db");
    return {DbPair{db->get<int>(),
                   t != j.end() && t->is_number_integer() ? t->get<int>() : db->get<int>()}};
  }
  return db_pairs_from_json(j.value("db_map", nlohmann::json()));
}

int target_db_for(const nlohmann::json& j, int source_db) {
  if (!j.is_object()) return source_db;
  for (const auto& p : db_pairs_from_options(j))
    if (p.source == source_db) return p.target;
  return source_db;
}

nlohmann::json db_pairs_json(const std::vector<DbPair>& pairs) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& p : pairs) j.push_back({p.source, p.target});
  return j;
}

std::vector<DbPair> db_pairs_from_json(const nlohmann::json& j) {
  std::vector<DbPair> out;
  if (!j.is_array()) return out;
  for (const auto& e : j)
    if (e.is_array() && e.size() == 2 && e[0].is_number_integer() && e[1].is_number_integer())
      out.push_back({e[0].get<int>(), e[1].get<int>()});
  return out;
}

}  // namespace migcheck

// Gathering ServerFacts from INFO, CONFIG GET and one DUMP.
#include "server_info.h"

#include <charconv>

#include "errors.h"

namespace migcheck {
namespace {

int64_t to_i64(const std::string& s, int64_t dflt = -1) {
  int64_t v = dflt;
  if (s.empty()) return dflt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() ? v : dflt;
}

// "db0:keys=3,expires=1,avg_ttl=0" lines -> db -> keys
void add_keyspace(const std::string& info, std::map<int, int64_t>& out, int64_t& total) {
  size_t pos = 0;
  while ((pos = info.find("\ndb", pos)) != std::string::npos) {
    ++pos;
    size_t colon = info.find(':', pos);
    size_t eq = info.find("keys=", pos);
    if (colon == std::string::npos || eq == std::string::npos) break;
    int db = static_cast<int>(to_i64(info.substr(pos + 2, colon - pos - 2), 0));
    size_t comma = info.find(',', eq);
    int64_t keys = to_i64(info.substr(eq + 5, comma - eq - 5), 0);
    out[db] += keys;
    total += keys;
  }
}

// Keys whose DUMP is cheap: MEMORY USAGE (or, where it is refused, the
// type's O(1) length) under a small bound.
constexpr int kDumpProbeAttempts = 8;
constexpr int64_t kDumpProbeMaxBytes = 64 * 1024;
constexpr int64_t kDumpProbeMaxElements = 128;

bool small_enough_to_dump(Client& client, size_t node, const std::string& key) {
  // The default 5 samples: an estimate in O(1), where SAMPLES 0 walks it all.
  Reply mem = client.on_node(node, {"MEMORY", "USAGE", key});
  if (mem.is_integer()) return mem.integer <= kDumpProbeMaxBytes;
  Reply type = client.on_node(node, {"TYPE", key});
  if (!type.is_string()) return false;
  const std::string& t = type.str;
  const char* len = t == "string"   ? "STRLEN"
                    : t == "list"   ? "LLEN"
                    : t == "hash"   ? "HLEN"
                    : t == "set"    ? "SCARD"
                    : t == "zset"   ? "ZCARD"
                    : t == "stream" ? "XLEN"
                                    : nullptr;
  if (!len) return false;
  Reply n = client.on_node(node, {len, key});
  if (!n.is_integer()) return false;
  return n.integer <= (t == "string" ? kDumpProbeMaxBytes : kDumpProbeMaxElements);
}

// One real DUMP tells which RDB version payloads carry.
void probe_rdb_version(Client& client, const std::vector<size_t>& scan, ServerFacts& f) {
  // Never write to find out, and DUMP only a small key: a 512 MB value would
  // block the server while it is serialized, and land whole in our memory.
  f.rdb_version_note = "unknown (empty database)";
  for (size_t node : scan) {
    Reply key;
    for (int attempt = 0; attempt < kDumpProbeAttempts; ++attempt) {
      key = client.on_node(node, {"RANDOMKEY"});
      if (!key.is_string() || small_enough_to_dump(client, node, key.str)) break;
      f.rdb_version_note = "unknown (no small key found to DUMP)";
      key = Reply{};
    }
    if (key.is_error()) {
      f.rdb_version_note = "unknown (RANDOMKEY not allowed)";
      break;
    }
    if (!key.is_string()) continue;
    Reply dump = client.on_node(node, {"DUMP", key.str});
    if (dump.is_error()) {
      f.rdb_version_note = "unknown (DUMP not allowed: " + dump.str + ")";
      break;
    }
    if (dump.is_string()) {
      f.rdb_version = dump_rdb_version(dump.str);
      if (f.rdb_version) f.rdb_version_note.clear();
      break;
    }
  }
}

// INFO refused: the keys of the connected db (DBSIZE is a read), the
// topology the client found, and the list of what could not be checked.
void refused_info(Client& client, const std::vector<size_t>& scan, ServerFacts& f) {
  f.info_allowed = false;
  f.keyspace_known = false;
  f.used_memory = -1;
  f.maxmemory = -1;
  f.notify_keyspace_events = "unknown (INFO not allowed)";
  f.unchecked = {
      "server restarts during the run (INFO refused)",
      "engine, version, memory and eviction policy (INFO refused)",
      "keys of databases other than db" + std::to_string(client.seed().db) + " (INFO refused)",
  };
  if (auto v = config_get(client, scan.empty() ? 0 : scan.front(), "notify-keyspace-events")) {
    f.config_allowed = true;
    f.notify_keyspace_events = *v;
  } else {
    f.unchecked.push_back("settings such as notify-keyspace-events (CONFIG refused)");
  }
  if (f.identity && !f.identity->gaps.empty())
    f.unchecked.push_back("server identity, told by its address only (INFO refused)");
  int64_t keys = 0;
  bool counted = false;
  for (size_t node : scan) {
    Reply n = client.on_node(node, {"DBSIZE"});
    if (n.is_integer()) keys += n.integer, counted = true;
  }
  if (counted) f.keys_per_db[client.seed().db] = keys;
  for (size_t i = 0; i < client.nodes().size(); ++i) {
    const NodeInfo& n = client.nodes()[i];
    f.nodes.push_back({n.endpoint.address(), n.primary ? "primary" : "replica", n.slots, 0});
  }
}

}  // namespace

std::optional<int> dump_rdb_version(std::string_view payload) {
  if (payload.size() < 11) return std::nullopt;
  auto b = reinterpret_cast<const unsigned char*>(payload.data() + payload.size() - 10);
  return static_cast<int>(b[0] | (b[1] << 8));
}

std::optional<std::string> config_get(Client& client, size_t node, const std::string& name) {
  Reply r = client.on_node(node, {"CONFIG", "GET", name});
  if (r.is_error() || !r.is_array() || r.elements.size() < 2) return std::nullopt;
  return r.elements[1].str;
}

std::optional<int> known_rdb_version(std::string_view engine, std::string_view version) {
  int major = 0, minor = 0;
  auto [p, ec] = std::from_chars(version.data(), version.data() + version.size(), major);
  if (ec != std::errc()) return std::nullopt;
  if (p < version.data() + version.size() && *p == '.')
    std::from_chars(p + 1, version.data() + version.size(), minor);
  const int v = major * 100 + minor;
  if (engine == "valkey") {
    if (v >= 900) return 80;
    if (v >= 702) return 11;
    return std::nullopt;
  }
  if (v >= 704) return 12;
  if (v >= 702) return 11;
  if (v >= 700) return 10;
  if (v >= 500) return 9;
  return std::nullopt;
}

bool restore_accepts(int source_rdb, std::string_view target_engine, int target_rdb) {
  if (target_engine == "valkey" && target_rdb >= 80 && source_rdb >= 12 && source_rdb < 80)
    return false;
  return source_rdb <= target_rdb;
}

ServerFacts gather_facts(Client& client) {
  ServerFacts f;
  f.endpoint = client.display();
  f.tls = client.seed().tls.enabled;
  f.mode = client.cluster() ? "cluster" : "standalone";
  auto scan = client.scan_nodes();
  size_t first = scan.empty() ? 0 : scan.front();

  f.identity = probe_identity(client);
  Reply info = client.on_node(first, {"INFO"});
  if (info.is_error()) {
    // A user limited to @read: what INFO tells stays unknown, and says so.
    refused_info(client, scan, f);
    probe_rdb_version(client, scan, f);
    return f;
  }
  if (!info.is_string())
    throw ProtocolError("INFO failed on " + client.display() + ": " + info.summary());
  const std::string& text = info.str;
  std::string valkey = info_field(text, "valkey_version");
  f.engine = valkey.empty() && info_field(text, "server_name") != "valkey" ? "redis" : "valkey";
  f.version = valkey.empty() ? info_field(text, "redis_version") : valkey;
  f.role = info_field(text, "role");
  f.used_memory = 0;
  f.maxmemory = to_i64(info_field(text, "maxmemory"));
  f.maxmemory_policy = info_field(text, "maxmemory_policy");

  for (size_t i = 0; i < client.nodes().size(); ++i) {
    const NodeInfo& n = client.nodes()[i];
    NodeFacts nf;
    nf.address = n.endpoint.address();
    nf.role = n.primary ? "primary" : "replica";
    nf.slots = n.slots;
    bool scanned = std::find(scan.begin(), scan.end(), i) != scan.end();
    if (n.primary || scanned) {
      Reply ni = i == first ? info : client.on_node(i, {"INFO"});
      if (ni.is_string()) {
        int64_t total = 0;
        std::map<int, int64_t> per_db;
        add_keyspace(ni.str, per_db, total);
        nf.keys = total;
        if (scanned) {
          for (auto [db, k] : per_db) f.keys_per_db[db] += k;
          f.used_memory += std::max<int64_t>(0, to_i64(info_field(ni.str, "used_memory"), 0));
        }
      }
    }
    f.nodes.push_back(nf);
  }

  if (auto v = config_get(client, first, "notify-keyspace-events")) {
    f.config_allowed = true;
    f.notify_keyspace_events = *v;
  } else {
    f.notify_keyspace_events = "unknown (CONFIG not allowed)";
  }

  probe_rdb_version(client, scan, f);
  return f;
}

nlohmann::json to_json(const ServerFacts& f) {
  nlohmann::json j;
  j["endpoint"] = f.endpoint;
  j["engine"] = f.engine;
  j["version"] = f.version;
  j["mode"] = f.mode;
  j["role"] = f.role;
  j["tls"] = f.tls;
  nlohmann::json dbs = nlohmann::json::object();
  int64_t total = 0;
  for (auto [db, k] : f.keys_per_db) {
    dbs[std::to_string(db)] = k;
    total += k;
  }
  j["keys_per_db"] = dbs;
  j["dbsize"] = total;
  j["used_memory"] = f.used_memory;
  j["maxmemory"] = f.maxmemory;
  j["maxmemory_policy"] = f.maxmemory_policy;
  j["notify_keyspace_events"] = f.notify_keyspace_events;
  j["config_allowed"] = f.config_allowed;
  j["rdb_version"] = f.rdb_version ? nlohmann::json(*f.rdb_version) : nlohmann::json(nullptr);
  if (!f.rdb_version_note.empty()) j["rdb_version_note"] = f.rdb_version_note;
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : f.nodes) {
    nlohmann::json slots = nlohmann::json::array();
    for (auto [lo, hi] : n.slots) slots.push_back({lo, hi});
    nodes.push_back({{"address", n.address}, {"role", n.role}, {"slots", slots}, {"keys", n.keys}});
  }
  j["nodes"] = nodes;
  j["info_allowed"] = f.info_allowed;
  j["keyspace_known"] = f.keyspace_known;
  if (!f.unchecked.empty()) j["unchecked"] = f.unchecked;
  if (f.identity) j["identity"] = to_json(*f.identity);
  return j;
}

ServerFacts facts_from_json(const nlohmann::json& j) {
  ServerFacts f;
  if (!j.is_object()) return f;
  f.endpoint = j.value("endpoint", "");
  f.engine = j.value("engine", "");
  f.version = j.value("version", "");
  f.mode = j.value("mode", "");
  f.role = j.value("role", "");
  f.tls = j.value("tls", false);
  if (j.contains("keys_per_db") && j["keys_per_db"].is_object())
    for (auto& [k, v] : j["keys_per_db"].items()) f.keys_per_db[std::stoi(k)] = v.get<int64_t>();
  f.used_memory = j.value("used_memory", int64_t{-1});
  f.maxmemory = j.value("maxmemory", int64_t{-1});
  f.maxmemory_policy = j.value("maxmemory_policy", "");
  f.notify_keyspace_events = j.value("notify_keyspace_events", "");
  f.config_allowed = j.value("config_allowed", false);
  if (j.contains("rdb_version") && j["rdb_version"].is_number_integer())
    f.rdb_version = j["rdb_version"].get<int>();
  f.rdb_version_note = j.value("rdb_version_note", "");
  if (j.contains("nodes") && j["nodes"].is_array())
    for (const auto& n : j["nodes"]) {
      NodeFacts nf;
      nf.address = n.value("address", "");
      nf.role = n.value("role", "");
      nf.keys = n.value("keys", int64_t{0});
      if (n.contains("slots"))
        for (const auto& s : n["slots"]) nf.slots.emplace_back(s[0].get<int>(), s[1].get<int>());
      f.nodes.push_back(nf);
    }
  f.info_allowed = j.value("info_allowed", true);
  f.keyspace_known = j.value("keyspace_known", true);
  if (auto it = j.find("unchecked"); it != j.end() && it->is_array())
    for (const auto& u : *it)
      if (u.is_string()) f.unchecked.push_back(u.get<std::string>());
  if (auto it = j.find("identity"); it != j.end() && it->is_object())
    f.identity = identity_from_json(*it);
  return f;
}

bool keeps_stream_counters(const ServerFacts& f) {
  int major = 0;
  try {
    major = f.version.empty() ? 0 : std::stoi(f.version);
  } catch (...) {
  }
  return f.engine == "valkey" || major >= 7;
}

}  // namespace migcheck

// Rendering of the report model as JSON, field by field as the schema says.
#include "report_json.h"

#include <ctime>

#include "encoding.h"
#include "json_fields.h"

namespace migcheck {
namespace {

using json = nlohmann::ordered_json;

json nullable_ms(int64_t ms) {
  return ms > 0 ? json(iso8601_utc(ms)) : json(nullptr);
}
json nullable_int(int64_t v) {
  return v >= 0 ? json(v) : json(nullptr);
}

json counts(const std::vector<NamedCount>& in) {
  json out = json::object();
  for (const auto& c : in) out[c.name] = c.count;
  return out;
}

json differences(const DifferenceSummary& d) {
  return {{"round", d.round},
          {"total", d.total},
          {"by_kind", counts(d.by_kind)},
          {"by_type", counts(d.by_type)}};
}

json rounds(const std::vector<RoundRecord>& in) {
  json out = json::array();
  for (const auto& r : in)
    out.push_back(
        {{"round", r.round},
         {"keys_checked", r.keys_checked},
         {"differences", r.differences},
         {"start", nullable_ms(r.started_ms)},
         {"end", nullable_ms(r.finished_ms)},
         {"duration_ms", r.finished_ms > 0 && r.started_ms > 0 ? json(r.finished_ms - r.started_ms)
                                                               : json(nullptr)}});
  return out;
}

json run_header(const RunRecord& r) {
  return {{"id", r.id},
          {"command", r.command},
          {"status", r.status},
          {"exit_code", r.exit_code},
          {"parent", r.parent ? json(*r.parent) : json(nullptr)},
          {"start", nullable_ms(r.started_ms)},
          {"end", nullable_ms(r.finished_ms)},
          {"duration_ms", r.finished_ms > 0 ? json(r.finished_ms - r.started_ms) : json(nullptr)},
          {"source", r.source},
          {"target", r.target},
          {"migcheck_version", r.version}};
}

json server(const ServerSide& s) {
  json j = {{"endpoint", s.endpoint}, {"available", s.available}};
  if (!s.available) {
    j["unavailable_reason"] = s.unavailable_reason;
    return j;
  }
  const ServerFacts& f = s.facts;
  json dbs = json::object();
  int64_t dbsize = 0;
  for (auto [db, keys] : f.keys_per_db) {
    dbs[std::to_string(db)] = keys;
    dbsize += keys;
  }
  json nodes = json::array();
  for (const auto& n : f.nodes) {
    json slots = json::array();
    for (auto [lo, hi] : n.slots) slots.push_back({lo, hi});
    nodes.push_back({{"address", n.address}, {"role", n.role}, {"keys", n.keys}, {"slots", slots}});
  }
  j.update(
      {{"engine", f.engine},
       {"version", f.version},
       {"mode", f.mode},
       {"role", f.role},
       {"tls", f.tls},
       {"dbsize", dbsize},
       {"keys_per_db", dbs},
       {"used_memory", nullable_int(f.used_memory)},
       {"maxmemory", nullable_int(f.maxmemory)},
       {"maxmemory_policy", f.maxmemory_policy.empty() ? json(nullptr) : json(f.maxmemory_policy)},
       {"notify_keyspace_events",
        f.config_allowed ? json(f.notify_keyspace_events) : json(nullptr)},
       {"config_allowed", f.config_allowed},
       {"rdb_version", f.rdb_version ? json(*f.rdb_version) : json(nullptr)},
       {"rdb_version_note", f.rdb_version_note},
       {"nodes", nodes}});
  return j;
}

json sample(const Difference& d) {
  json j = {{"round", d.round}, {"db", d.db}};
  put_key(j, d.key);
  put_difference_sides(j, d);
  j.update({{"source_digest", d.source_digest},
            {"target_digest", d.target_digest},
            {"detail", d.detail}});
  // Stored as JSON, already escaped and truncated (ValueLocation::to_json).
  json loc = d.location.empty() ? json(nullptr) : json::parse(d.location, nullptr, false);
  j["location"] = loc.is_object() ? loc : json(nullptr);
  return j;
}

json ttl_drift(const TtlDrift& t) {
  json buckets = json::array();
  for (const auto& b : t.buckets)
    buckets.push_back({{"label", b.label},
                       {"min_ms", b.min_ms},
                       {"max_ms", b.max_ms ? json(*b.max_ms) : json(nullptr)},
                       {"count", b.count}});
  return {{"total", t.total}, {"one_sided", t.one_sided}, {"buckets", buckets}};
}

json outcomes(const OutcomeSummary& o) {
  json failures = json::array();
  for (const auto& x : o.failures) {
    json j = {{"db", x.db}};
    put_key(j, x.key);
    j.update({{"action", to_string(x.action)},
              {"outcome", to_string(x.outcome)},
              {"error", x.error},
              {"detail", x.detail}});
    failures.push_back(j);
  }
  return {{"total", o.total},
          {"failed", o.failed},
          {"by_outcome", counts(o.by_outcome)},
          {"failures", failures}};
}

json big_keys(const BigKeys& b) {
  json keys = json::array();
  for (const auto& k : b.keys) {
    json j = json::object();
    put_key(j, k.key);
    j["db"] = k.db ? json(*k.db) : json(nullptr);
    j["type"] = k.type.empty() ? json(nullptr) : json(k.type);
    j["size"] = k.size ? json(*k.size) : json(nullptr);
    keys.push_back(j);
  }
  return {{"evaluated", b.evaluated},
          {"count", b.evaluated ? json(b.count) : json(nullptr)},
          {"keys", keys}};
}

}  // namespace

std::string iso8601_utc(int64_t epoch_ms) {
  std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the compiler can imagine in each field
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(epoch_ms % 1000));
  return buf;
}

void put_key(nlohmann::ordered_json& into, std::string_view key) {
  put_binary_key(into, key);
}

nlohmann::ordered_json report_json(const ReportModel& m) {
  json checks = json::array();
  for (const auto& c : m.checks)
    checks.push_back(
        {{"id", c.id}, {"name", c.name}, {"status", to_string(c.status)}, {"detail", c.detail}});

  json run = run_header(m.run);
  run["options"] = json(m.options);
  run["totals"] = json(m.totals);

  json samples = json::array();
  for (const auto& d : m.samples) samples.push_back(sample(d));

  json j = {
      {"schema_version", m.schema_version},
      {"generator", {{"name", "migcheck"}, {"version", m.generator_version}}},
      {"generated_at", nullable_ms(m.generated_ms)},
      {"verdict", m.verdict},
      {"reasons", m.reasons},
      {"checks", checks},
      {"run", run},
      {"source", server(m.source)},
      {"target", server(m.target)},
      {"rounds", rounds(m.rounds)},
      {"differences", differences(m.differences)},
      {"ttl_drift", ttl_drift(m.ttl_drift)},
      {"samples", {{"limit", m.sample_limit}, {"count", m.samples.size()}, {"items", samples}}},
      {"big_keys", big_keys(m.big_keys)}};
  if (m.outcomes) j["repair"] = outcomes(*m.outcomes);
  if (m.parent) {
    json p = run_header(m.parent->record);
    p["rounds"] = rounds(m.parent->rounds);
    p["differences"] = differences(m.parent->differences);
    j["parent"] = p;
  }
  return j;
}

std::string report_json_text(const ReportModel& m) {
  return report_json(m).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace migcheck

// Coverage, freshness and identity checks of a run: see coverage.h.
#include "coverage.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <string>

#include "html_escape.h"
#include "identity.h"

namespace migcheck {
namespace {

using enum CheckStatus;

std::string join(const std::vector<std::string>& parts, std::string_view sep = ", ") {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return out;
}

std::string keys_text(int64_t n) {
  return std::to_string(n) + (n == 1 ? " key" : " keys");
}

std::optional<ServerIdentity> target_identity(const RunRecord& r) {
  if (r.target_info_json.empty()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(r.target_info_json, nullptr, false);
  if (!j.is_object() || !j.contains("identity") || !j["identity"].is_object()) return std::nullopt;
  ServerIdentity id = identity_from_json(j["identity"]);
  if (id.empty()) return std::nullopt;
  return id;
}

bool overlap(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const std::string& x) {
    return std::find(b.begin(), b.end(), x) != b.end();
  });
}

}  // namespace

std::vector<std::pair<int, int>> compared_databases(const ReportModel& m) {
  std::vector<std::pair<int, int>> out;
  auto add = [&](int s, int t) {
    if (std::find(out.begin(), out.end(), std::pair{s, t}) == out.end()) out.emplace_back(s, t);
  };
  if (m.totals.is_object())
    if (auto it = m.totals.find("databases"); it != m.totals.end() && it->is_array()) {
      for (const auto& d : *it)
        if (d.is_object() && d.contains("source_db") && d["source_db"].is_number_integer() &&
            d.contains("target_db") && d["target_db"].is_number_integer())
          add(d["source_db"].get<int>(), d["target_db"].get<int>());
      return out;
    }
  std::optional<int> only, all_to;
  std::map<int, int> per_db;
  if (m.options.is_object()) {
    if (auto it = m.options.find("db"); it != m.options.end() && it->is_number_integer())
      only = it->get<int>();
    if (auto it = m.options.find("target_db"); it != m.options.end()) {
      if (it->is_number_integer()) {
        all_to = it->get<int>();
      } else if (it->is_object()) {
        for (const auto& [k, v] : it->items()) {
          int src = 0;
          auto [p, ec] = std::from_chars(k.data(), k.data() + k.size(), src);
          if (ec == std::errc() && p == k.data() + k.size() && v.is_number_integer())
            per_db[src] = v.get<int>();
        }
      }
    }
  }
  auto target_of = [&](int db) {
    if (all_to) return *all_to;
    auto it = per_db.find(db);
    return it == per_db.end() ? db : it->second;
  };
  if (only) {
    add(*only, target_of(*only));
    return out;
  }
  if (m.source.available)
    for (auto [db, keys] : m.source.facts.keys_per_db) add(db, target_of(db));
  // Unmapped: every db of the target is compared with its namesake.
  if (!all_to && per_db.empty() && m.target.available)
    for (auto [db, keys] : m.target.facts.keys_per_db) add(db, db);
  return out;
}

Check keyspace_scope(const ReportModel& m) {
  constexpr std::string_view id = "scope", name = "Whole keyspace compared";
  const nlohmann::json& o = m.options.is_object() ? m.options : nlohmann::json::object();
  std::vector<std::string> limits;
  if (auto it = o.find("match"); it != o.end() && it->is_string() &&
                                 !it->get<std::string>().empty() && it->get<std::string>() != "*")
    limits.push_back("only keys matching --match \"" + printable_bytes(it->get<std::string>()) +
                     "\"");
  if (auto it = o.find("types"); it != o.end() && it->is_array() && !it->empty()) {
    std::vector<std::string> types;
    for (const auto& t : *it)
      if (t.is_string()) types.push_back(printable_bytes(t.get<std::string>()));
    limits.push_back("only keys of type " + join(types) + " (--type)");
  }
  bool sampled = false;
  if (m.totals.is_object() && m.totals.contains("sampled") && m.totals["sampled"].is_boolean())
    sampled = m.totals["sampled"].get<bool>();
  else if (auto it = o.find("sample"); it != o.end() && it->is_number_integer())
    sampled = it->get<int64_t>() > 0;
  if (sampled) {
    std::string n;
    if (auto it = o.find("sample"); it != o.end() && it->is_number_integer())
      n = " of " + std::to_string(it->get<int64_t>());
    limits.push_back("a random sample" + n + " of the keys (--sample)");
  }
  if (auto it = o.find("target_scan"); it != o.end() && it->is_boolean() && !it->get<bool>())
    limits.push_back("no look for keys only the target has (--no-target-scan)");
  if (limits.empty())
    return make_check(id, name, kPass,
                      "every key of the compared databases, looked up on both sides");
  return make_check(id, name, kFail,
                    "the compare checked " + join(limits, "; ") +
                        ": what it did not check may differ; run a full compare for a verdict",
                    true);
}

Check database_coverage(const ReportModel& m) {
  constexpr std::string_view id = "databases", name = "Every database compared";
  if (!m.source.available || !m.target.available)
    return make_check(id, name, kWarn,
                      std::string("not evaluated: the run recorded no server facts for the ") +
                          (!m.source.available && !m.target.available ? "source and target"
                           : !m.source.available                      ? "source"
                                                                      : "target"));
  const auto pairs = compared_databases(m);
  std::set<int> src_done, tgt_done;
  std::vector<std::string> compared;
  for (auto [s, t] : pairs) {
    src_done.insert(s);
    tgt_done.insert(t);
    compared.push_back(s == t ? "db" + std::to_string(s)
                              : "db" + std::to_string(s) + "->db" + std::to_string(t));
  }
  std::vector<std::string> left_out;
  for (auto [db, keys] : m.source.facts.keys_per_db)
    if (keys > 0 && !src_done.count(db))
      left_out.push_back("source db" + std::to_string(db) + " (" + keys_text(keys) + ")");
  for (auto [db, keys] : m.target.facts.keys_per_db)
    if (keys > 0 && !tgt_done.count(db))
      left_out.push_back("target db" + std::to_string(db) + " (" + keys_text(keys) + ")");
  const std::string done =
      compared.empty() ? std::string("no database") : "compared " + join(compared);
  if (!left_out.empty())
    return make_check(id, name, kFail,
                      done + "; not compared: " + join(left_out) +
                          ": their keys were never checked; run a compare that covers them",
                      true);
  std::vector<std::string> blind;
  if (!m.source.facts.keyspace_known) blind.push_back("source");
  if (!m.target.facts.keyspace_known) blind.push_back("target");
  if (!blind.empty())
    return make_check(
        id, name, kWarn,
        done + "; the " + join(blind, " and ") +
            " keyspace could not be read (INFO refused): other databases may hold keys");
  return make_check(id, name, kPass, done + ": every database holding keys on either side");
}

Check written_after(const ReportModel& m) {
  constexpr std::string_view id = "written_after", name = "No write after this compare";
  if (m.later_writes.empty())
    return make_check(
        id, name, kPass,
        "no repair or replicate run in this store wrote to the target after this compare");
  std::vector<std::string> runs;
  for (const auto& w : m.later_writes) runs.push_back(w.command + " run " + std::to_string(w.id));
  return make_check(id, name, kFail,
                    "target was written after this compare (" + join(runs) +
                        "); compare again and report on that run");
}

Check distinct_servers(const ReportModel& m) {
  constexpr std::string_view id = "distinct_servers", name = "Source and target are two servers";
  if (!m.source.available || !m.target.available)
    return make_check(id, name, kWarn,
                      "not evaluated: the run recorded no server facts for both sides");
  const auto& a = m.source.facts.identity;
  const auto& b = m.target.facts.identity;
  if (!a || !b)
    return make_check(
        id, name, kWarn,
        "not evaluated: the run recorded no server identity (written by an older migcheck)");
  switch (same_server(*a, *b)) {
    case Sameness::kSame: {
      const auto pairs = compared_databases(m);
      const bool apart = !pairs.empty() && std::all_of(pairs.begin(), pairs.end(),
                                                       [](auto p) { return p.first != p.second; });
      if (apart)
        return make_check(id, name, kPass, "one server, but different databases on each side");
      return make_check(
          id, name, kFail,
          "source and target are the same server (same run_id, node ids or address): the "
          "run compared it with itself");
    }
    case Sameness::kDifferent:
      return make_check(id, name, kPass, "different servers (INFO run_id of every node)");
    case Sameness::kUnknown:
      break;
  }
  std::vector<std::string> gaps;
  if (!a->gaps.empty()) gaps.push_back("source: " + join(a->gaps, "; "));
  if (!b->gaps.empty()) gaps.push_back("target: " + join(b->gaps, "; "));
  return make_check(id, name, kWarn,
                    "could not be fully checked (" + join(gaps, "; ") +
                        "); their addresses differ, so they are probably two servers");
}

std::optional<Check> unchecked(const ReportModel& m) {
  std::vector<std::string> sides;
  for (const auto* side : {&m.source, &m.target}) {
    if (!side->available || side->facts.unchecked.empty()) continue;
    std::vector<std::string> items;
    for (const auto& u : side->facts.unchecked) items.push_back(printable_bytes(u));
    sides.push_back((side == &m.source ? "source: " : "target: ") + join(items, "; "));
  }
  if (sides.empty()) return std::nullopt;
  return make_check("unchecked", "What could not be checked", kWarn,
                    join(sides, ". ") + " (the run's user may not run those commands)");
}

Check verification(const ReportModel& m) {
  constexpr std::string_view id = "verification", name = "Verified by a compare";
  const std::string what = m.run.command + " run " + std::to_string(m.run.id);
  if (is_dry_run(m.run))
    return make_check(id, name, kFail,
                      "a dry run: nothing was written; its planned actions are listed by `migcheck "
                      "diffs --run " +
                          std::to_string(m.run.id) + "`",
                      true);
  if (m.totals.is_object() && m.totals.contains("verify_run") &&
      m.totals["verify_run"].is_number_integer())
    return make_check(id, name, kFail,
                      what + " was verified by compare run " +
                          std::to_string(m.totals["verify_run"].get<int64_t>()) +
                          ": the verdict is that run's (`migcheck report --run " +
                          std::to_string(m.totals["verify_run"].get<int64_t>()) + "`)",
                      true);
  return make_check(id, name, kFail,
                    what +
                        " wrote to the target; writing proves nothing: run `migcheck compare` and "
                        "report on it",
                    true);
}

bool writes_same_target(const RunRecord& compare, const RunRecord& write) {
  auto a = target_identity(compare), b = target_identity(write);
  if (a && b)
    return overlap(a->run_ids, b->run_ids) || overlap(a->node_ids, b->node_ids) ||
           overlap(a->addresses, b->addresses);
  return compare.target == write.target;
}

bool is_dry_run(const RunRecord& run) {
  nlohmann::json j = nlohmann::json::parse(run.options_json, nullptr, false);
  return j.is_object() && j.contains("dry_run") && j["dry_run"].is_boolean() &&
         j["dry_run"].get<bool>();
}

}  // namespace migcheck

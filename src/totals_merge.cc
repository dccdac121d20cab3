// Joining partition runs' totals: see totals_merge.h.
#include "totals_merge.h"

#include <algorithm>
#include <set>
#include <string_view>

namespace migcheck {
namespace {

using json = nlohmann::json;

// Keys whose merged value is the largest (times the partitions ran in
// parallel, percentiles as an upper bound, the last round of a repair).
const std::set<std::string_view> kMax = {"elapsed_ms", "round", "max_ms", "max",
                                         "p50",        "p90",   "p99"};
// Keys taken from the first partition that has them: facts of the servers,
// the same for every partition.
const std::set<std::string_view> kFirst = {"clock_skew", "mode"};
// Keys that name rows of one input store, or the partition itself.
const std::set<std::string_view> kDropped = {"partition", "verify_run", "compare_run"};

void merge_into(json& acc, const json& v, std::string_view key);

// Merges each field of object `v` into object `acc` (copied when new) but
// those `skip(key)` leaves out.
template <typename Skip>
void merge_fields(json& acc, const json& v, Skip skip) {
  for (const auto& [k, x] : v.items()) {
    if (skip(k)) continue;
    if (!acc.contains(k))
      acc[k] = x;
    else
      merge_into(acc[k], x, k);
  }
}

bool dropped(std::string_view key) {
  return kDropped.count(key) > 0;
}

// Arrays of objects told apart by `id_keys` ("round"; "source_db" and
// "target_db"): entries with the same ids are merged, the others appended.
void merge_keyed(json& acc, const json& v, std::initializer_list<const char*> id_keys) {
  for (const auto& e : v) {
    auto same = std::find_if(acc.begin(), acc.end(), [&](const json& a) {
      return a.is_object() && e.is_object() &&
             std::all_of(id_keys.begin(), id_keys.end(),
                         [&](const char* k) { return a.value(k, json()) == e.value(k, json()); });
    });
    if (same == acc.end()) {
      acc.push_back(e);
      continue;
    }
    merge_fields(*same, e, [&](std::string_view k) {
      return std::find(id_keys.begin(), id_keys.end(), k) != id_keys.end();
    });
  }
}

void merge_into(json& acc, const json& v, std::string_view key) {
  if (kFirst.count(key)) return;
  if (acc.is_number() && v.is_number()) {
    if (kMax.count(key)) {
      if (v > acc) acc = v;
    } else if (acc.is_number_float() || v.is_number_float()) {
      acc = acc.get<double>() + v.get<double>();
    } else {
      acc = acc.get<int64_t>() + v.get<int64_t>();
    }
    return;
  }
  if (acc.is_boolean() && v.is_boolean()) {
    acc = acc.get<bool>() || v.get<bool>();
    return;
  }
  if (acc.is_object() && v.is_object()) {
    if (key == "big_keys") {
      acc["count"] = acc.value("count", int64_t{0}) + v.value("count", int64_t{0});
      if (acc.contains("keys") && acc["keys"].is_array() && v.contains("keys") &&
          v["keys"].is_array())
        for (const auto& k : v["keys"])
          if (acc["keys"].size() < 20) acc["keys"].push_back(k);
      return;
    }
    merge_fields(acc, v, dropped);
    return;
  }
  if (acc.is_array() && v.is_array()) {
    if (key == "rounds")
      merge_keyed(acc, v, {"round"});
    else if (key == "databases")
      merge_keyed(acc, v, {"source_db", "target_db"});
    else
      for (const auto& e : v) acc.push_back(e);
    return;
  }
  // Strings and mismatched types: the first partition's value stays.
}

}  // namespace

json merge_totals(const std::vector<json>& parts) {
  json out = json::object();
  bool big_keys_everywhere = true;
  for (const auto& p : parts) {
    if (!p.is_object()) continue;
    big_keys_everywhere = big_keys_everywhere && p.contains("big_keys");
    merge_fields(out, p, dropped);
  }
  // A partition that did not finish its round 1 has not looked at all its
  // keys: no count rather than a partial one (as a single run does).
  if (!big_keys_everywhere) out.erase("big_keys");
  if (out.contains("rounds") && out["rounds"].is_array())
    std::sort(out["rounds"].begin(), out["rounds"].end(), [](const json& a, const json& b) {
      return a.value("round", 0) < b.value("round", 0);
    });
  return out;
}

}  // namespace migcheck

// The options a run records (its store record's options JSON) and what
// `--resume` reads back from them, for any engine's options struct. Each
// engine lists its recorded fields once, in visit_recorded_options(o, f),
// calling f(key, flag, field, on_resume) per field; from that one list come
// the recorded JSON, the resumed values and the flags a resume ignores.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "db_pairs.h"
#include "duration.h"
#include "partition.h"
#include "resume.h"

namespace migcheck {

// What --resume does with a recorded field.
enum class OnResume {
  Kept,      // the run's value; the flag given again is ignored (and said so)
  Given,     // speed and load: the flag given again takes effect and is recorded
  Recorded,  // recorded for the report only; a resume takes the command line's
};

// The options type a visit_recorded_options overload is for, const or not:
//   template <RecordedOptionsOf<CompareOptions> Options, typename F>
//   void visit_recorded_options(Options& o, F&& f);
template <typename O, typename Engine>
concept RecordedOptionsOf = std::same_as<std::remove_const_t<O>, Engine>;

// The rows every engine's list shares, visited by its own: the speed and load
// flags (add_load_flags: --scan-count where the engine scans, --batch,
// --connections, --max-ops-per-sec), which a resume takes again when given,
// and the store path, recorded for the report.
template <typename Options, typename F>
void visit_load_options(Options& o, F& f) {
  using enum OnResume;
  if constexpr (requires { o.scan_count; }) f("scan_count", "--scan-count", o.scan_count, Given);
  f("batch", "--batch", o.batch, Given);
  f("connections", "--connections", o.connections, Given);
  f("max_ops_per_sec", "--max-ops-per-sec", o.max_ops_per_sec, Given);
  f("store", nullptr, o.store_path, Recorded);
}

// The key-selection and write-mode rows the engines share, each where the
// engine has the field (--match and --type: compare, replicate; --struct and
// --dry-run: repair, replicate; --partition: all), then the load rows. JSON
// objects sort their keys, so where an engine visits them changes nothing
// recorded.
template <typename Options, typename F>
void visit_shared_options(Options& o, F& f) {
  using enum OnResume;
  if constexpr (requires { o.match; }) f("match", "--match", o.match, Kept);
  if constexpr (requires { o.types; }) f("types", "--type", o.types, Kept);
  f("partition", "--partition", o.partition, Kept);
  if constexpr (requires { o.structural; }) f("struct", "--struct", o.structural, Kept);
  if constexpr (requires { o.dry_run; }) f("dry_run", "--dry-run", o.dry_run, Kept);
  visit_load_options(o, f);
}

namespace recorded {

template <typename T>
void put(nlohmann::json& j, const char* key, const T& v) {
  j[key] = v;
}
inline void put(nlohmann::json& j, const char* key, Millis v) {
  j[key] = v.count();
}
inline void put(nlohmann::json& j, const char* key, const std::optional<int64_t>& v) {
  if (v) j[key] = *v;
}
// Only a partitioned run records its partition.
inline void put(nlohmann::json& j, const char* key, const Partition& p) {
  if (p.active()) j[key] = partition_json(p);
}

template <typename T>
void get(const nlohmann::json& j, const char* key, T& v) {
  v = j.value(key, v);
}
inline void get(const nlohmann::json& j, const char* key, Millis& v) {
  v = Millis(j.value(key, v.count()));
}
inline void get(const nlohmann::json& j, const char* key, std::optional<int64_t>& v) {
  if (auto it = j.find(key); it != j.end() && it->is_number_integer()) v = it->get<int64_t>();
}
inline void get(const nlohmann::json& j, const char* key, Partition& p) {
  auto it = j.find(key);
  p = it == j.end() ? Partition{} : partition_from_json(*it).value_or(Partition{});
}

}  // namespace recorded

// The recorded fields of `o` as a JSON object (the engine adds the endpoints
// and the db pairs).
template <typename Options>
nlohmann::json recorded_json(const Options& o) {
  nlohmann::json j = nlohmann::json::object();
  visit_recorded_options(o, [&](const char* key, const char*, const auto& value, OnResume) {
    recorded::put(j, key, value);
  });
  return j;
}

// A run's options JSON: the recorded fields, the endpoints (as displayed:
// no password) and, for engines over db pairs, the pairs asked for.
template <typename Options>
nlohmann::json run_options_json(const Options& o) {
  nlohmann::json j = recorded_json(o);
  j["source"] = o.source.display();
  j["target"] = o.target.display();
  if constexpr (requires { o.db_pairs; })
    add_db_options(j, requested_db_pairs(o.db_pairs, o.all_dbs, o.source, o.target));
  return j;
}

// --resume: the run's recorded values replace those of `o`, except the
// OnResume::Given ones the command line gave again (`given`: the flags it
// gave), which stay and are written into the run's options (see
// record_resume_options). Returns the flags of `given` that the run's values
// replace, in the order given: the recorded fields' and `also` (flags whose
// recorded values the caller reads back itself, such as the db pairs').
template <typename Options>
std::vector<std::string> apply_recorded(ResumableRun& run, const std::vector<std::string>& given,
                                        Options& o, std::span<const char* const> also = {}) {
  std::vector<std::string> replaced;
  auto is_given = [&](const char* flag) {
    return flag && std::find(given.begin(), given.end(), flag) != given.end();
  };
  visit_recorded_options(o, [&](const char* key, const char* flag, auto& value, OnResume on) {
    if (on == OnResume::Recorded) return;
    if (on == OnResume::Given && is_given(flag)) {
      recorded::put(run.options, key, value);
      return;
    }
    recorded::get(run.options, key, value);
    if (is_given(flag)) replaced.emplace_back(flag);
  });
  for (const char* flag : also)
    if (is_given(flag)) replaced.emplace_back(flag);
  std::vector<std::string> ordered;
  for (const auto& g : given)
    if (std::find(replaced.begin(), replaced.end(), g) != replaced.end()) ordered.push_back(g);
  return ordered;
}

}  // namespace migcheck

// The report model: everything a cutover-readiness report says about one
// run, independent of the output format. build_report() fills it from the
// store; the JSON and HTML writers only render it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server_info.h"
#include "store.h"

namespace migcheck {

// Bumped whenever a field of the JSON report changes meaning or disappears;
// additions that old readers can ignore keep it.
inline constexpr int kReportSchemaVersion = 1;

enum class CheckStatus { kPass, kWarn, kFail };
std::string_view to_string(CheckStatus s);  // "pass", "warn", "fail"

struct Check {
  std::string id;    // stable machine name, e.g. "memory_headroom"
  std::string name;  // for people, e.g. "Memory headroom"
  CheckStatus status = CheckStatus::kWarn;
  std::string detail;
  // A failure because the run did not cover enough to judge (interrupted,
  // filtered, sampled, databases left out): the verdict is INCOMPLETE rather
  // than NOT READY, unless another check found a real problem.
  bool incomplete = false;
};

inline Check make_check(std::string_view id, std::string_view name, CheckStatus status,
                        std::string detail, bool incomplete = false) {
  return Check{std::string(id), std::string(name), status, std::move(detail), incomplete};
}

// The report's verdict, as the JSON spells it. Only kReady exits 0.
inline constexpr std::string_view kVerdictReady = "READY";
inline constexpr std::string_view kVerdictNotReady = "NOT_READY";
inline constexpr std::string_view kVerdictIncomplete = "INCOMPLETE";
// What a run that writes did; never a verdict on the cutover.
inline constexpr std::string_view kVerdictRepaired = "REPAIRED";
inline constexpr std::string_view kVerdictReplicated = "REPLICATED";
inline constexpr std::string_view kVerdictDryRun = "DRY_RUN";

struct NamedCount {
  std::string name;
  int64_t count = 0;
};

// One side of the migration as the run saw it.
struct ServerSide {
  std::string endpoint;    // Endpoint::display() form, re-redacted
  bool available = false;  // the run stored readable server facts
  std::string unavailable_reason;
  ServerFacts facts;  // meaningful when available
};

// The differences of one round of a run.
struct DifferenceSummary {
  int round = 0;  // 0 when the run recorded no round
  int64_t total = 0;
  std::vector<NamedCount> by_kind;
  std::vector<NamedCount> by_type;
};

// |source_ttl - target_ttl| of "ttl" differences, in fixed buckets.
struct TtlBucket {
  std::string label;
  int64_t min_ms = 0;
  std::optional<int64_t> max_ms;  // exclusive; unset = unbounded
  int64_t count = 0;
};

struct TtlDrift {
  int64_t total = 0;      // ttl differences in the round
  int64_t one_sided = 0;  // a TTL on one side only: no finite drift
  std::vector<TtlBucket> buckets;
};

struct BigKey {
  std::optional<int> db;
  std::string key;  // bytes
  std::string type;
  std::optional<int64_t> size;
};

// What compare recorded in totals_json.big_keys, if anything.
struct BigKeys {
  bool evaluated = false;
  int64_t count = 0;
  std::vector<BigKey> keys;  // as listed by compare; may be fewer than count
};

// Per-key outcomes of a repair or replicate run.
struct OutcomeSummary {
  int64_t total = 0;
  int64_t failed = 0;  // outcome "failed" or an error text
  std::vector<NamedCount> by_outcome;
  std::vector<Outcome> failures;  // the first ones, up to the sample limit
};

// The compare run a repair run worked from.
struct ParentRun {
  RunRecord record;
  std::vector<RoundRecord> rounds;
  DifferenceSummary differences;
};

struct ReportModel {
  int schema_version = kReportSchemaVersion;
  std::string generator_version;  // this migcheck
  int64_t generated_ms = 0;

  RunRecord run;           // source/target endpoints redacted
  nlohmann::json options;  // object; secret-looking values redacted
  nlohmann::json totals;   // object
  ServerSide source, target;

  std::vector<RoundRecord> rounds;
  DifferenceSummary differences;  // of the last round
  size_t sample_limit = 0;
  std::vector<Difference> samples;  // the first differences of the last round
  TtlDrift ttl_drift;
  std::optional<OutcomeSummary> outcomes;
  std::optional<ParentRun> parent;
  BigKeys big_keys;

  // Repair/replicate runs of the store that wrote to this (compare) run's
  // target after it finished (redacted endpoints), oldest first.
  std::vector<RunRecord> later_writes;

  std::vector<Check> checks;
  bool ready = false;
  std::string verdict = std::string(kVerdictNotReady);  // one of the kVerdict* values
  std::vector<std::string> reasons;                     // failures first, then warnings
};

struct BuildOptions {
  std::optional<int64_t> run;  // unset = the latest compare run (else the latest run)
  size_t sample_limit = 100;
  int64_t now_ms = 0;  // generated_ms; passed in so the builder stays pure
};

// Reads the store, never writes it. Throws UsageError for an unknown run id
// and StoreError when the store has no run at all (or cannot be read).
ReportModel build_report(Store& store, const BuildOptions& opts);

// The verdict for people: "NOT READY" for kVerdictNotReady, and the banner
// heading, e.g. "INCOMPLETE: no verdict for cutover".
std::string verdict_text(std::string_view verdict);
std::string verdict_heading(std::string_view verdict);

// The fixed TTL drift buckets (exposed for tests and the chart legend).
std::vector<TtlBucket> ttl_drift_buckets();

// "redis://user:secret@host" -> "redis://user@host": a second line of
// defence behind Endpoint::display() for strings read back from a store.
std::string redact_endpoint(std::string_view endpoint);

}  // namespace migcheck

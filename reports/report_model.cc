// build_report(): store -> ReportModel. Reads only; memory stays bounded by
// the sample limit however many differences or outcomes the run holds.
#include "report_model.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "coverage.h"
#include "encoding.h"
#include "errors.h"
#include "readiness.h"

namespace migcheck {
namespace {

#ifdef MIGCHECK_VERSION
constexpr const char* kGeneratorVersion = MIGCHECK_VERSION;
#else
constexpr const char* kGeneratorVersion = "dev";
#endif

// Thrown from a store callback to stop streaming once enough rows were seen:
// the store's for_each_* has no limit, and it holds no lock or statement
// while callbacks run, so unwinding through it is safe.
struct EnoughRows {};

std::vector<NamedCount> named_counts(const std::vector<std::pair<std::string, int64_t>>& in) {
  std::vector<NamedCount> out;
  out.reserve(in.size());
  for (const auto& [name, count] : in) out.push_back({name, count});
  return out;
}

nlohmann::json parse_object(const std::string& text) {
  if (text.empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : nlohmann::json::object();
}

bool secret_name(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return name.find("pass") != std::string::npos || name.find("secret") != std::string::npos ||
         name.find("token") != std::string::npos || name == "auth";
}

// options_json is promised secret-free; redacting again costs nothing and
// keeps a careless option from ending up in a report that gets mailed around.
void redact_options(nlohmann::json& j) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (secret_name(k) && !v.is_boolean() && !v.is_null())
        v = "(redacted)";
      else
        redact_options(v);
    }
  } else if (j.is_array()) {
    for (auto& v : j) redact_options(v);
  } else if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.find("://") != std::string::npos) j = redact_endpoint(s);
  }
}

ServerSide server_side(const std::string& endpoint, const std::string& info_json) {
  ServerSide side;
  side.endpoint = redact_endpoint(endpoint);
  if (info_json.empty()) {
    side.unavailable_reason = "not gathered";
    return side;
  }
  nlohmann::json j = nlohmann::json::parse(info_json, nullptr, false);
  if (!j.is_object()) {
    side.unavailable_reason = "stored facts are not a JSON object";
    return side;
  }
  try {
    side.facts = facts_from_json(j);
  } catch (const std::exception&) {  // a field of the wrong type
    side.unavailable_reason = "stored facts are malformed";
    return side;
  }
  side.available = true;
  side.facts.endpoint =
      redact_endpoint(side.facts.endpoint.empty() ? endpoint : side.facts.endpoint);
  if (side.endpoint.empty()) side.endpoint = side.facts.endpoint;
  return side;
}

// The differences of `round`; `round` 0 with no rounds recorded means the
// latest round any difference was stored under.
DifferenceSummary summarize(Store& store, int64_t run, int round) {
  DifferenceSummary d;
  d.round = round;
  d.total = store.count_differences(run, DifferenceFilter{round, {}});
  d.by_kind = named_counts(store.count_by_kind(run, round));
  d.by_type = named_counts(store.count_by_type(run, round));
  return d;
}

std::vector<Difference> first_differences(Store& store, int64_t run, const DifferenceFilter& f,
                                          size_t limit) {
  std::vector<Difference> out;
  if (limit == 0) return out;
  try {
    store.for_each_difference(run, f, [&](const Difference& d) {
      out.push_back(d);
      if (out.size() >= limit) throw EnoughRows{};
    });
  } catch (const EnoughRows&) {
  }
  return out;
}

// The round to summarise: the last recorded one; without rounds, the one the
// store's own default resolves to (the latest round holding a difference).
int last_round(Store& store, int64_t run, const std::vector<RoundRecord>& rounds) {
  if (!rounds.empty()) return rounds.back().round;
  auto first = first_differences(store, run, DifferenceFilter{}, 1);
  return first.empty() ? 0 : first.front().round;
}

TtlDrift ttl_drift(Store& store, int64_t run, int round) {
  TtlDrift drift;
  drift.buckets = ttl_drift_buckets();
  store.for_each_difference(run, DifferenceFilter{round, {std::string(kKindTtl)}},
                            [&](const Difference& d) {
                              ++drift.total;
                              if (d.source_ttl_ms < 0 || d.target_ttl_ms < 0) {
                                ++drift.one_sided;
                                return;
                              }
                              int64_t delta = std::llabs(d.source_ttl_ms - d.target_ttl_ms);
                              for (TtlBucket& b : drift.buckets)
                                if (delta >= b.min_ms && (!b.max_ms || delta < *b.max_ms)) {
                                  ++b.count;
                                  break;
                                }
                            });
  return drift;
}

OutcomeSummary outcome_summary(Store& store, int64_t run, const std::vector<NamedCount>& counts,
                               size_t limit) {
  OutcomeSummary o;
  o.by_outcome = counts;
  for (const auto& c : counts) {
    o.total += c.count;
    if (c.name == "failed") o.failed += c.count;
  }
  if (limit == 0) return o;
  try {
    store.for_each_outcome(run, [&](const Outcome& x) {
      if (x.outcome != Outcome::Result::Failed && x.error.empty()) return;
      o.failures.push_back(x);
      if (o.failures.size() >= limit) throw EnoughRows{};
    });
  } catch (const EnoughRows&) {
  }
  return o;
}

std::optional<int64_t> int_field(const nlohmann::json& j,
                                 std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (auto it = j.find(n); it != j.end() && it->is_number_integer()) return it->get<int64_t>();
  return std::nullopt;
}

BigKey big_key(const nlohmann::json& j) {
  BigKey k;
  if (j.is_string()) {
    k.key = j.get<std::string>();
    return k;
  }
  if (!j.is_object()) return k;
  if (auto it = j.find("key"); it != j.end() && it->is_string()) {
    k.key = it->get<std::string>();
  } else if (auto b64 = j.find("key_base64"); b64 != j.end() && b64->is_string()) {
    k.key = base64_decode(b64->get<std::string>()).value_or(b64->get<std::string>());
  }
  if (auto db = int_field(j, {"db"})) k.db = static_cast<int>(*db);
  if (auto it = j.find("type"); it != j.end() && it->is_string()) k.type = it->get<std::string>();
  k.size = int_field(j, {"size", "bytes", "memory", "elements"});
  return k;
}

// totals.big_keys as compare may write it: a count, a list of keys, or
// {"count": N, "keys": [...]}; keys as strings or {key|key_base64, db, type, size}.
BigKeys big_keys(const nlohmann::json& totals, size_t limit) {
  BigKeys b;
  auto it = totals.find("big_keys");
  if (it == totals.end()) return b;
  const nlohmann::json* list = nullptr;
  if (it->is_number_integer()) {
    b.evaluated = true;
    b.count = it->get<int64_t>();
  } else if (it->is_array()) {
    b.evaluated = true;
    list = &*it;
    b.count = static_cast<int64_t>(it->size());
  } else if (it->is_object()) {
    b.evaluated = true;
    auto keys = it->find("keys");
    if (keys != it->end() && keys->is_array()) list = &*keys;
    b.count = int_field(*it, {"count"}).value_or(list ? static_cast<int64_t>(list->size()) : 0);
  }
  if (list)
    for (const auto& k : *list) {
      if (b.keys.size() >= limit) break;
      b.keys.push_back(big_key(k));
    }
  return b;
}

// Repair/replicate runs (not dry runs) on the compare's target that started
// after the compare finished: what the compare saw is no longer the target.
std::vector<RunRecord> later_writes(Store& store, const RunRecord& compare) {
  const int64_t since = compare.finished_ms > 0 ? compare.finished_ms : compare.started_ms;
  std::vector<RunRecord> out;
  for (RunRecord& r : store.runs()) {
    if ((r.command != "repair" && r.command != "replicate") || r.started_ms < since ||
        r.id == compare.id || is_dry_run(r) || !writes_same_target(compare, r))
      continue;
    r.source = redact_endpoint(r.source);
    r.target = redact_endpoint(r.target);
    r.source_info_json.clear();
    r.target_info_json.clear();
    r.options_json.clear();
    r.totals_json.clear();
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(),
            [](const RunRecord& a, const RunRecord& b) { return a.id < b.id; });
  return out;
}

}  // namespace

std::string_view to_string(CheckStatus s) {
  switch (s) {
    case CheckStatus::kPass:
      return "pass";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      return "fail";
  }
  return "warn";
}

std::string verdict_text(std::string_view verdict) {
  std::string out(verdict);
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

std::string verdict_heading(std::string_view verdict) {
  if (verdict == kVerdictReady) return "READY for cutover";
  if (verdict == kVerdictNotReady) return "NOT READY for cutover";
  if (verdict == kVerdictIncomplete) return "INCOMPLETE: no verdict for cutover";
  if (verdict == kVerdictRepaired) return "REPAIRED: compare again for a verdict";
  if (verdict == kVerdictReplicated) return "REPLICATED: compare for a verdict";
  if (verdict == kVerdictDryRun) return "DRY RUN: nothing was written";
  return verdict_text(verdict);
}

std::string redact_endpoint(std::string_view endpoint) {
  std::string s(endpoint);
  size_t scheme = s.find("://");
  if (scheme == std::string::npos) return s;
  size_t start = scheme + 3;
  size_t at = s.find('@', start);
  size_t end_of_authority = s.find_first_of("/?#", start);
  if (at == std::string::npos || (end_of_authority != std::string::npos && at > end_of_authority))
    return s;
  size_t colon = s.find(':', start);
  if (colon != std::string::npos && colon < at) s.erase(colon, at - colon);
  return s;
}

std::vector<TtlBucket> ttl_drift_buckets() {
  constexpr int64_t s = 1000, m = 60 * s, h = 60 * m, d = 24 * h;
  return {
      {"<1s", 0, s, 0},
      {"1s-10s", s, 10 * s, 0},
      {"10s-1m", 10 * s, m, 0},
      {"1m-10m", m, 10 * m, 0},
      {"10m-1h", 10 * m, h, 0},
      {"1h-1d", h, d, 0},
      {">=1d", d, std::nullopt, 0},
  };
}

ReportModel build_report(Store& store, const BuildOptions& opts) {
  // The verdict belongs to a compare: without --run, the latest compare run
  // (a store holding none is reported by its latest run, which cannot be READY).
  std::optional<RunRecord> run = opts.run ? store.run(*opts.run) : store.latest_run("compare");
  if (!run && !opts.run) run = store.latest_run();
  if (!run) {
    if (opts.run)
      throw UsageError("store " + store.path() + " has no run " + std::to_string(*opts.run));
    throw StoreError("store " + store.path() + " has no runs to report on");
  }

  ReportModel m;
  m.generator_version = kGeneratorVersion;
  m.generated_ms = opts.now_ms;
  m.sample_limit = opts.sample_limit;
  m.run = *run;
  m.run.source = redact_endpoint(run->source);
  m.run.target = redact_endpoint(run->target);
  m.options = parse_object(run->options_json);
  redact_options(m.options);
  m.totals = parse_object(run->totals_json);
  m.source = server_side(m.run.source, run->source_info_json);
  m.target = server_side(m.run.target, run->target_info_json);

  m.rounds = store.rounds(run->id);
  int round = last_round(store, run->id, m.rounds);
  m.differences = summarize(store, run->id, round);
  m.samples = first_differences(store, run->id, DifferenceFilter{round, {}}, opts.sample_limit);
  m.ttl_drift = ttl_drift(store, run->id, round);

  if (auto counts = named_counts(store.count_outcomes(run->id)); !counts.empty())
    m.outcomes = outcome_summary(store, run->id, counts, opts.sample_limit);

  if (run->parent) {
    if (auto parent = store.run(*run->parent)) {
      ParentRun p;
      p.record = *parent;
      p.record.source = redact_endpoint(parent->source);
      p.record.target = redact_endpoint(parent->target);
      p.rounds = store.rounds(parent->id);
      p.differences = summarize(store, parent->id, last_round(store, parent->id, p.rounds));
      m.parent = std::move(p);
    }
  }

  if (run->command == "compare") m.later_writes = later_writes(store, *run);

  m.big_keys = big_keys(m.totals, opts.sample_limit);
  m.checks = readiness_checks(m);
  Verdict v = verdict(m.checks);
  m.ready = v.ready;
  m.verdict = v.kind;
  m.reasons = std::move(v.reasons);
  // A run that writes is described by what it did; it is never READY.
  if (run->command == "repair" || run->command == "replicate") {
    m.ready = false;
    if (is_dry_run(*run))
      m.verdict = kVerdictDryRun;
    else if (run->status == "done" && run->exit_code == 0)
      m.verdict = run->command == "repair" ? kVerdictRepaired : kVerdictReplicated;
    else
      m.verdict = kVerdictIncomplete;
  }
  return m;
}

}  // namespace migcheck

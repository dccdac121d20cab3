// Which of CompareOptions a compare run records with itself (the store's
// options JSON, read by reports and by `compare --resume`), under which key,
// set by which flag, and what a resume does with each: listed once here.
#pragma once

#include <nlohmann/json.hpp>

#include "compare.h"
#include "recorded_options.h"

namespace migcheck {

// Calls f(key, flag, field, OnResume) for each recorded field of `o`
// (CompareOptions, const or not).
template <RecordedOptionsOf<CompareOptions> Options, typename F>
void visit_recorded_options(Options& o, F&& f) {
  using enum OnResume;
  f("rounds", "--rounds", o.rounds, Kept);
  f("interval_ms", "--interval", o.interval, Kept);
  f("ttl_tolerance_ms", "--ttl-tolerance", o.ttl_tolerance, Kept);
  visit_shared_options(o, f);
  f("sample", "--sample", o.sample, Kept);
  f("target_scan", "--no-target-scan", o.target_scan, Kept);
  f("chunk", "--chunk", o.chunk, Kept);
  f("big_string", "--big-string", o.big_string, Kept);
  f("read_from_replica", "--read-from", o.source_client.read_from_replica, Kept);
}

// The options JSON of a compare run: the recorded fields, the endpoints
// (without passwords) and the requested db pairs.
nlohmann::json compare_options_json(const CompareOptions& o);

}  // namespace migcheck

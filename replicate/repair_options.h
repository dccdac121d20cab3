// Which of RepairOptions a repair run records with itself (the store's
// options JSON, read by reports and by `repair --resume`), under which key,
// set by which flag, and what a resume does with each: listed once here.
#pragma once

#include <nlohmann/json.hpp>

#include "recorded_options.h"
#include "repair.h"

namespace migcheck {

// Calls f(key, flag, field, OnResume) for each recorded field of `o`
// (RepairOptions, const or not).
template <RecordedOptionsOf<RepairOptions> Options, typename F>
void visit_recorded_options(Options& o, F&& f) {
  using enum OnResume;
  f("compare_run", "--run", o.compare_run, Kept);
  f("kinds", "--kind", o.kinds, Kept);
  f("delete_extra", "--delete-extra", o.delete_extra, Kept);
  visit_shared_options(o, f);
  f("ttl_tolerance_ms", nullptr, o.ttl_tolerance, Recorded);
}

// The options JSON of a repair run: the recorded fields and the endpoints
// (without passwords). The engine records the compare run, round and TTL
// tolerance it resolved (`resolved`: o with those set).
nlohmann::json repair_options_json(const RepairOptions& resolved, int round);

}  // namespace migcheck

// Which of ReplicateOptions a replicate run records with itself (the
// store's options JSON, read by reports and by `replicate --resume`), under
// which key, set by which flag, and what a resume does with each: listed
// once here.
#pragma once

#include <nlohmann/json.hpp>

#include "recorded_options.h"
#include "replicate.h"

namespace migcheck {

NLOHMANN_JSON_SERIALIZE_ENUM(ReplicateMode, {{ReplicateMode::Scan, "scan"},
                                             {ReplicateMode::Live, "live"},
                                             {ReplicateMode::LiveOnly, "liveonly"}})

// Calls f(key, flag, field, OnResume) for each recorded field of `o`
// (ReplicateOptions, const or not). Only scan-mode runs resume, so the live
// modes' settings are recorded only.
template <RecordedOptionsOf<ReplicateOptions> Options, typename F>
void visit_recorded_options(Options& o, F&& f) {
  using enum OnResume;
  f("mode", "--mode", o.mode, Kept);
  f("idle_ms", nullptr, o.idle, Recorded);
  f("verify", "--verify", o.verify, Kept);
  f("mem_limit", "--mem-limit", o.mem_limit, Kept);
  visit_shared_options(o, f);
  f("assume_notifications", nullptr, o.assume_notifications, Recorded);
  // Live modes only (scan refuses it): whether the sweep after an event gap
  // deleted target-only keys, which a report must be able to say.
  f("delete_extra", "--delete-extra", o.delete_extra, Recorded);
  f("queue", nullptr, o.queue_capacity, Recorded);
}

// The options JSON of a replicate run: the recorded fields, the endpoints
// (without passwords) and the requested db pairs.
nlohmann::json replicate_options_json(const ReplicateOptions& o);

}  // namespace migcheck

// The JSON summary of a run, built from the store alone.
#include "run_json.h"

#include "errors.h"

namespace migcheck {
namespace {

nlohmann::json parsed(const std::string& text) {
  if (text.empty()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? nlohmann::json(text) : j;
}

nlohmann::json counts(const std::vector<std::pair<std::string, int64_t>>& v) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, n] : v) j[name] = n;
  return j;
}

}  // namespace

nlohmann::json run_summary_json(Store& store, int64_t id) {
  const auto run = store.run(id);
  if (!run) throw StoreError("run " + std::to_string(id) + " is not in " + store.path());
  nlohmann::json j = {{"run", run->id},
                      {"command", run->command},
                      {"status", run->status},
                      {"exit_code", run->exit_code},
                      {"source", run->source},
                      {"target", run->target},
                      {"started_ms", run->started_ms},
                      {"finished_ms", run->finished_ms},
                      {"store", store.path()},
                      {"version", run->version},
                      {"options", parsed(run->options_json)},
                      {"totals", parsed(run->totals_json)}};
  if (run->parent) j["parent"] = *run->parent;
  if (run->command == "compare") {
    nlohmann::json rounds = nlohmann::json::array();
    for (const auto& r : store.rounds(id))
      rounds.push_back({{"round", r.round},
                        {"keys_checked", r.keys_checked},
                        {"differences", r.differences},
                        {"elapsed_ms", r.finished_ms - r.started_ms}});
    j["rounds"] = rounds;
    const int last = store.last_round(id);
    j["differences_by_kind"] = counts(store.count_by_kind(id, last));
    j["differences_by_type"] = counts(store.count_by_type(id, last));
  } else {
    j["outcomes"] = counts(store.count_outcomes(id));
  }
  return j;
}

}  // namespace migcheck

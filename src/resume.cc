// Shared --resume lookups: see resume.h.
#include "resume.h"

#include "errors.h"

namespace migcheck {
namespace {

std::string cannot(int64_t id) {
  return "cannot resume run " + std::to_string(id) + ": ";
}

}  // namespace

ResumableRun resumable_run(Store& store, int64_t id, std::string_view command) {
  auto rec = store.run(id);
  if (!rec) throw UsageError(cannot(id) + "no such run in " + store.path());
  if (rec->command != command)
    throw UsageError(cannot(id) + "it is a " + rec->command + " run, not a " +
                     std::string(command) + " run");
  if (rec->status == "done") throw UsageError(cannot(id) + "it is finished (done)");
  nlohmann::json options = nlohmann::json::parse(rec->options_json, nullptr, false);
  if (!options.is_object()) throw StoreError(cannot(id) + "its recorded options are unreadable");
  return {std::move(*rec), std::move(options)};
}

nlohmann::json load_checkpoint(Store& store, int64_t id, std::string_view name) {
  auto cp = store.checkpoint(id, name);
  if (!cp) throw UsageError(cannot(id) + "it stopped before its first checkpoint; start a new run");
  nlohmann::json j = nlohmann::json::parse(*cp, nullptr, false);
  if (!j.is_object()) throw StoreError(cannot(id) + "its checkpoint is unreadable");
  return j;
}

std::string resume_hint(std::string_view command, int64_t run) {
  return "interrupted, resume with `migcheck " + std::string(command) + " --resume " +
         std::to_string(run) + " SOURCE TARGET`";
}

}  // namespace migcheck

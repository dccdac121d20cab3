// Shared --resume lookups: see resume.h.
#include "resume.h"

#include "errors.h"
#include "log.h"
#include "store_health.h"

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
  try {
    store.claim_run(id);
  } catch (const UsageError& e) {
    throw UsageError(cannot(id) + e.what());
  }
  return {std::move(*rec), std::move(options)};
}

nlohmann::json load_checkpoint(Store& store, int64_t id, std::string_view name) {
  auto cp = store.checkpoint(id, name);
  if (!cp) throw UsageError(cannot(id) + "it stopped before its first checkpoint; start a new run");
  nlohmann::json j = nlohmann::json::parse(*cp, nullptr, false);
  if (!j.is_object()) throw StoreError(cannot(id) + "its checkpoint is unreadable");
  return j;
}

void record_resume_options(Store& store, const ResumableRun& run) {
  nlohmann::json before = nlohmann::json::parse(run.record.options_json, nullptr, false);
  if (before == run.options) return;
  std::string changed;
  for (const auto& [k, v] : run.options.items())
    if (!before.is_object() || !before.contains(k) || before[k] != v)
      changed += (changed.empty() ? "" : ", ") + k + " " + v.dump();
  store.set_options(run.record.id, run.options.dump());
  log::info("resumed run " + std::to_string(run.record.id) + " continues with " + changed);
}

void warn_ignored_on_resume(const ResumableRun& run, const std::vector<std::string>& ignored) {
  if (ignored.empty()) return;
  std::string names;
  for (const auto& n : ignored) names += (names.empty() ? "" : ", ") + n;
  log::warn(names + (ignored.size() == 1 ? " is" : " are") + " ignored: resumed run " +
            std::to_string(run.record.id) + " keeps the options it was started with");
}

void warn_resume_differences(const ResumableRun& run, const std::vector<std::string>& ignored,
                             const Endpoint& source, const Endpoint& target) {
  const std::string id = std::to_string(run.record.id);
  warn_ignored_on_resume(run, ignored);
  if (run.record.source != source.display() || run.record.target != target.display())
    log::warn("resuming run " + id + " recorded with " + run.record.source + " -> " +
              run.record.target + " against " + source.display() + " -> " + target.display());
}

namespace {

std::string resume_command(std::string_view command, int64_t run) {
  return "`migcheck " + std::string(command) + " --resume " + std::to_string(run) +
         " SOURCE TARGET`";
}

}  // namespace

std::string resume_hint(std::string_view command, int64_t run) {
  // A damaged store cannot be resumed from: no advice that cannot work.
  if (auto damage = store_damage())
    return "interrupted; run " + std::to_string(run) + " cannot be resumed: " + *damage +
           "; start a new run with another --store";
  return "interrupted, resume with " + resume_command(command, run);
}

void warn_resumable(std::string_view command, int64_t run) {
  if (store_damage()) return;  // the error says what happened; a resume cannot work
  log::warn(std::string(command) + " run " + std::to_string(run) + " stopped; continue it with " +
            resume_command(command, run));
}

}  // namespace migcheck

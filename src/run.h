// One run of an engine (compare, repair, replicate) in the store, from its
// start or its resume to its end: what every engine does around its own
// work, done one way.
//
//  - begin() records a new run; resume() claims a stopped one (one writer per
//    run, see run_lock.h) and reads its checkpoint, reopened() marks it
//    running again once the engine has rolled back what came after it;
//  - every client of the run reports the servers' run_ids to one
//    RestartWatch: client_options() wires it into copies of the options;
//  - checkpoints are stored under the run's command name, at most every
//    kCheckpointEvery when the engine asks checkpoint_due();
//  - the servers' facts are gathered and recorded, with the checks engines
//    draw from them (stream counters, RDB versions);
//  - the run's stop token: abort() raises the run's one flag, which the
//    engines' loops, queues and every sleeper (rate limiter, backoff) watch
//    together with the signal flag (stop_token.h);
//  - finish() records a run that ran to its end; end_abnormally() one that
//    an exception stopped, and never throws: what cannot be recorded is one
//    "cannot record the end of the run" warning.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "client.h"
#include "errors.h"
#include "noncopyable.h"
#include "restart_watch.h"
#include "server_info.h"
#include "store.h"

namespace migcheck {

// How often a running engine checkpoints (besides at its start and stop).
inline constexpr std::chrono::seconds kCheckpointEvery{2};

// Both servers of a run, and what the engines conclude from them.
struct RunServers {
  ServerFacts source, target;

  // Read-only: INFO, CONFIG GET, a DUMP (see server_info.h).
  static RunServers gather(Client& source, Client& target);
  // Stream counters that only 7.0+ keeps (entries-added, max-deleted-entry-id,
  // entries-read): compared only when both servers have them.
  bool stream_extended() const;
  // The source writes newer RDB payloads than the target reads: says (as
  // info) that values will be written by type, unless `structural` already
  // writes them so.
  void note_rdb_versions(bool structural) const;
};

// "redis 7.0.15 standalone", "valkey 8.0.1 cluster (3 primaries)".
std::string describe_server(const ServerFacts& f);

// Whether the exception being handled (in a catch block) is an E.
template <typename E>
bool handling() {
  try {
    throw;
  } catch (const E&) {
    return true;
  } catch (...) {
    return false;
  }
}

// The status of a run that the exception being handled stopped, for
// Run::end_abnormally: "interrupted" for a stop (Interrupted, or one of
// `AlsoStops`: a refusal that leaves the checkpoint usable), "failed" for any
// other.
template <typename... AlsoStops>
const char* abnormal_status() {
  return (handling<Interrupted>() || ... || handling<AlsoStops>()) ? "interrupted" : "failed";
}

class Run : NonCopyable {
 public:
  // `command` names the run ("compare") and its checkpoint; `stop` is the
  // command's stop request (a signal's flag; may be null).
  Run(Store& store, std::string command, const std::atomic<bool>* stop = nullptr);

  Store& store() { return store_; }
  int64_t id() const { return id_; }
  const std::string& command() const { return command_; }

  // A new run, recorded as `rec` (its command is set here); returns its id.
  int64_t begin(RunRecord rec);
  // The same for a run between two servers: recorded as displayed (no
  // password), with its options JSON and, for a repair, its compare run.
  int64_t begin(const Endpoint& source, const Endpoint& target, const nlohmann::json& options,
                int64_t parent = 0);
  // --resume `id`: claims the run for this process, before anything of it
  // is read or rolled back (with `check`, also refused as resumable_run()
  // refuses: another command's run, a finished one), and returns its
  // checkpoint, whose run_ids the watch takes back. Throws UsageError (no
  // checkpoint) or StoreError (unreadable) as load_checkpoint() does.
  nlohmann::json resume(int64_t id, bool check = false);
  // The engine has rolled back what came after the checkpoint: the run is
  // running again.
  void reopened();

  // Every client of the run reports to this watch.
  RestartWatch& watch() { return *watch_; }
  const std::shared_ptr<RestartWatch>& shared_watch() const { return watch_; }
  // A copy of `base` whose connections report to the run's watch.
  ClientOptions client_options(const ClientOptions& base) const;

  // The run's working time over all its processes: the time before the
  // resume (set_elapsed_base) plus this process's since start().
  void start() { t0_ = std::chrono::steady_clock::now(); }
  void set_elapsed_base(int64_t ms) { elapsed_base_ = ms; }
  int64_t elapsed_ms() const;

  // Stores the run's checkpoint and restarts the throttle.
  void save_checkpoint(const nlohmann::json& j);
  // Whether kCheckpointEvery has passed since the last checkpoint (or
  // restart_checkpoint_clock()).
  bool checkpoint_due() const;
  void restart_checkpoint_clock();
  // The run has a checkpoint to resume from (saved, or resumed from).
  bool checkpointed() const { return checkpointed_.load(); }
  // Whether the store holds the run's checkpoint.
  bool has_stored_checkpoint();

  // Records the servers' facts with the run.
  void record_servers(const RunServers& servers);

  // The run's stop token. abort() raises it (an error, a stop, a restart to
  // act upon) and wakes every sleeper at once; stop_flag() is the flag that
  // sleepers (RateLimiter, stop_token::wait_for) watch with the signal's.
  void abort();
  void clear_abort() { abort_ = false; }
  bool aborted() const { return abort_.load(); }
  const std::atomic<bool>* stop_flag() const { return &abort_; }
  // The flag itself, for an engine that raises it directly: sleepers then
  // notice within stop_token::kPoll rather than at once.
  std::atomic<bool>& abort_flag() { return abort_; }
  // The command was asked to stop (a signal).
  bool stop_requested() const { return stop_ && stop_->load(); }
  // Either: loops end at their next step.
  bool stopping() const { return aborted() || stop_requested(); }

  // The end of a run that ran through: `totals`, then `status` ("done", or
  // "interrupted" for a run a stop cut short without an exception) and `exit_code`.
  void finish(std::string_view status, int exit_code, const nlohmann::json& totals);
  // The end of a run an exception stopped, as `status` ("interrupted" or
  // "failed") with exit code 2: `totals` (called here, so its own failures
  // are caught too) brings the totals up to date, then `advise_resume`
  // decides whether to say how to resume (warn_resumable). Never throws.
  void end_abnormally(std::string_view status, const std::function<nlohmann::json()>& totals,
                      const std::function<bool()>& advise_resume);

 private:
  Store& store_;
  const std::string command_;
  const std::atomic<bool>* stop_;
  int64_t id_ = 0;
  std::shared_ptr<RestartWatch> watch_ = std::make_shared<RestartWatch>();
  std::atomic<bool> abort_{false};
  std::atomic<bool> checkpointed_{false};
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  int64_t elapsed_base_ = 0;
  std::atomic<std::chrono::steady_clock::rep> last_checkpoint_{0};
};

}  // namespace migcheck

// The live tail of replicate (live and liveonly modes): the check that the
// source sends keyspace notifications for every write, the events received
// (filtered, queued, recorded and rescanned when the queue is full), and the
// loop that feeds them to the workers until a signal or --idle, rescanning
// when events may have been lost or a server restarted.
#include <algorithm>
#include <string>
#include <utility>

#include "errors.h"
#include "log.h"
#include "replicate_engine.h"
#include "scanner.h"
#include "server_info.h"

namespace migcheck::replicate_internal {

void Engine::check_notifications() {
  std::vector<size_t> primaries;
  for (size_t i = 0; i < src_main_->nodes().size(); ++i) {
    const auto& n = src_main_->nodes()[i];
    if (n.primary && (!src_main_->cluster() || !n.slots.empty())) primaries.push_back(i);
  }
  bool any_keyspace_only = false;
  for (size_t node : primaries) {
    const std::string where = src_main_->nodes()[node].endpoint.display();
    auto v = config_get(*src_main_, node, "notify-keyspace-events");
    if (!v) {
      if (o_.assume_notifications) continue;
      throw Error(
          "cannot read notify-keyspace-events on " + where +
          " (CONFIG is refused there). Live mode needs keyspace notifications: enable them where "
          "the "
          "service allows it (ElastiCache: set notify-keyspace-events to KEA in the cluster's "
          "parameter "
          "group; Redis Cloud/Azure/Memorystore: the database's configuration), then rerun with "
          "--assume-notifications");
    }
    NotifyCheck c = check_notify_flags(*v, o_.types);
    if (!c.ok) {
      throw Error("notify-keyspace-events is \"" + *v + "\" on " + where +
                  ": live mode needs events for every write" + " (missing: " + c.missing +
                  "). Set it on every primary: CONFIG SET notify-keyspace-events " + c.suggested +
                  " (minimal: K or E, plus g$lshzt x e, or A)");
    }
    if (!c.keyevent) any_keyspace_only = true;
  }
  // K without E: keyspace channels carry the same information.
  keyevent_ = !any_keyspace_only;
}

void Engine::on_event(std::string_view key, SteadyTime at) {
  if (!o_.match.empty() && !glob_match(o_.match, key)) return;
  last_event_ticks_.store(at.time_since_epoch().count(), std::memory_order_relaxed);
  if (queue_.push(key, at) != EventQueue::Push::Full) return;
  // Never dropped in silence: recorded, and a rescan will copy it.
  overflow_epoch_.fetch_add(1);
  rescan_requested_ = true;
  std::lock_guard lock(mu_);
  // Bounded too: past this many unwritten records the rescan alone covers them.
  if (overflow_outcomes_.size() < kMaxPendingOverflow)
    overflow_outcomes_.push_back(
        {.db = pairs_.front().source,
         .key = std::string(key),
         .action = Outcome::Action::None,
         .outcome = Outcome::Result::Skipped,
         .error = {},
         .detail = "queue overflow: re-copy needed (a rescan was scheduled)"});
  auto now = std::chrono::steady_clock::now();
  if (overflow_logged_ == SteadyTime{} || now - overflow_logged_ > std::chrono::seconds(10)) {
    overflow_logged_ = now;
    log::warn("the event queue is full (" + std::to_string(queue_.capacity()) +
              " keys): changed keys are recorded in the store and a rescan is scheduled; "
              "consider --queue or more --connections");
  }
}

void Engine::drain_events(Millis wait) {
  std::vector<Keyed> evs;
  queue_.pop(evs, batch_ * workers_.size() * 2, wait);
  dispatch(evs);
  std::vector<Outcome> overflow;
  {
    std::lock_guard lock(mu_);
    overflow.swap(overflow_outcomes_);
  }
  if (!overflow.empty()) store_.add_outcomes(result_.run_id, overflow);
}

void Engine::live_loop() {
  phase_ = "live";
  log::info("applying changes as they are notified" +
            (o_.idle.count() > 0
                 ? " (stopping after " + format_duration(o_.idle) + " without events)"
                 : std::string(" (Ctrl-C to stop)")));
  SteadyTime role_checked = std::chrono::steady_clock::now();
  while (!stopping()) {
    drain_events(Millis(100));
    if (!o_.dry_run && std::chrono::steady_clock::now() - role_checked >= kCheckpointEvery) {
      role_checked = std::chrono::steady_clock::now();
      check_target_role();
      if (result_.target_became_replica) break;  // nothing more can be copied to it
    }
    if (watch_->pending()) {
      watch_->acknowledge();
      log::warn("a server restarted: writes it acknowledged may be lost; rescanning the source");
      rescan_requested_ = true;
      // A source that lost writes, or a target restarted from an older
      // snapshot, can leave keys on the target the source does not have.
      sweep_pending_.add_all();
    }
    const bool gap = listener_->take_events_lost();
    if (gap || rescan_requested_.exchange(false)) {
      sweep_pending_.merge(listener_->take_sweep_scope());
      if (!scan_pass()) break;
      // After the rescan began (the gap is closed, so every later change is
      // notified): keys the source lost in the gap (live_sweep.cc).
      sweep_target(std::exchange(sweep_pending_, SweepScope{}));
      continue;
    }
    if (o_.idle.count() > 0) {
      const SteadyTime last_event{SteadyTime::duration(last_event_ticks_.load())};
      const SteadyTime quiet_since = std::max({last_event, pass_end_, started_});
      if (std::chrono::steady_clock::now() - quiet_since >= o_.idle && queue_.size() == 0 &&
          workers_drained()) {
        log::info("no events for " + format_duration(o_.idle) + ": stopping");
        break;
      }
    }
  }
}

}  // namespace migcheck::replicate_internal

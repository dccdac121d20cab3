// Live modes' sweep of the target after an event gap (a lost subscription,
// a cluster failover, a Sentinel switch, a restart): the rescan re-copies
// every key the source holds, but cannot see a key the source lost in the
// gap (deleted unseen, or a write the killed primary acknowledged and never
// passed to its replica). The sweep lists the target's keys in the gap's
// scope, asks the source which of them exist, and hands the missing ones to
// the per-key copy path (with --delete-extra) or records them (without).
#include <algorithm>
#include <string>
#include <vector>

#include "errors.h"
#include "log.h"
#include "progress.h"
#include "replicate_engine.h"
#include "scanner.h"
#include "slot.h"

namespace migcheck::replicate_internal {

// Why a concurrent write on the source cannot make the sweep wrong: the
// sweep starts after the subscription of every node in its scope is
// confirmed (the listener reports a gap closed only then). A key the sweep
// finds missing on the source is not deleted here: it goes to the same
// worker as that key's keyspace events (routed by key), whose copier reads
// the source again when it writes and deletes on the target only if the
// source still lacks the key. A creation on the source before that read is
// seen by it (the key is copied); one after it is notified, so the key is
// queued again and that worker, which applies one key's passes in order,
// copies it after the delete. A creation between the EXISTS below and the
// copier's read is just read by the copier. So only a key the source lacked
// at some moment after the gap closed is deleted, and every later change of
// it is applied after the deletion.
void Engine::sweep_target(const SweepScope& scope) {
  if (scope.empty() || stopping()) return;
  if (!sweep_target_)
    sweep_target_ = std::make_unique<Client>(pair_endpoint(false), target_client_);
  Client& tgt = *sweep_target_;
  Client& src = scan_client(pair_);
  const bool selective = o_.types.size() > 1;
  ScanOptions so;
  so.match = o_.match;
  if (o_.types.size() == 1) so.type = o_.types.front();
  so.count = o_.scan_count;
  so.limiter = limiter_.limited() ? &limiter_ : nullptr;
  Scanner scanner(tgt, so);
  phase_ = "sweep";
  log::info(std::string("looking on the target for keys the source lost in the gap (") +
            (scope.all ? "every key" : "the slots of the nodes concerned") + ")");
  uint64_t checked = 0, found = 0;
  std::vector<std::string> keys, part, extras;
  std::vector<Command> cmds;
  for (bool more = true; more;) {
    if (stopping()) return;
    keys.clear();
    more = scanner.next(keys);
    std::erase_if(keys, [&](const std::string& k) { return !scope.covers(key_slot(k)); });
    for (size_t i = 0; i < keys.size(); i += batch_) {
      part.assign(keys.begin() + static_cast<std::ptrdiff_t>(i),
                  keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), i + batch_)));
      cmds.clear();
      for (const auto& k : part) cmds.push_back({"EXISTS", k});
      if (so.limiter) so.limiter->acquire(cmds.size());
      std::vector<Reply> rs = src.execute(cmds);
      extras.clear();
      // An error reply (NOPERM...) says nothing: the key is left alone.
      for (size_t j = 0; j < part.size() && j < rs.size(); ++j)
        if (!rs[j].is_error() && rs[j].integer == 0) extras.push_back(std::move(part[j]));
      checked += part.size();
      if (selective && !extras.empty()) {
        // Keys of types not selected are not this run's (--type).
        cmds.clear();
        for (const auto& k : extras) cmds.push_back({"TYPE", k});
        std::vector<Reply> ts = tgt.execute(cmds);
        std::vector<std::string> wanted;
        for (size_t j = 0; j < extras.size() && j < ts.size(); ++j)
          if (std::find(o_.types.begin(), o_.types.end(), ts[j].str) != o_.types.end())
            wanted.push_back(std::move(extras[j]));
        extras.swap(wanted);
      }
      found += extras.size();
      if (extras.empty()) continue;
      if (o_.delete_extra) {
        {
          std::lock_guard lock(mu_);
          sweep_keys_.insert(extras.begin(), extras.end());
        }
        dispatch(extras, SteadyTime{});
      } else {
        // Recorded at the end, if still on the target only (recheck_kept):
        // a key whose deletion event is still queued is not an extra.
        for (auto& k : extras) kept_keys_.insert(std::move(k));
      }
    }
    drain_events(Millis(0));  // events keep flowing during a long sweep
  }
  ++sweeps_;
  swept_ += checked;
  extras_found_ += found;
  phase_ = "live";
  if (found == 0) {
    log::info("sweep: " + grouped(static_cast<int64_t>(checked)) +
              " target keys checked, none missing on the source");
  } else if (o_.delete_extra) {
    log::warn("sweep: " + grouped(static_cast<int64_t>(found)) + " of " +
              grouped(static_cast<int64_t>(checked)) +
              " target keys are gone from the source (lost in the gap): deleting them on the "
              "target (--delete-extra)");
  } else {
    log::warn("sweep: " + grouped(static_cast<int64_t>(found)) + " of " +
              grouped(static_cast<int64_t>(checked)) +
              " target keys are gone from the source (deleted in the gap, or writes the failed "
              "primary never replicated); kept, as --delete-extra was not given: they are in "
              "the store, and migcheck compare then migcheck repair --delete-extra removes them "
              "(or run replicate with --delete-extra)");
  }
}

// At the end of the run: how many of the keys the sweeps kept are still on
// the target only (a later write on the source, or an event, settles some).
void Engine::recheck_kept() {
  extras_kept_ = kept_keys_.size();
  if (kept_keys_.empty() || !sweep_target_) return;
  std::vector<std::string> keys(kept_keys_.begin(), kept_keys_.end());
  uint64_t still = 0;
  std::vector<Outcome> kept;
  try {
    std::vector<Command> cmds;
    for (size_t i = 0; i < keys.size(); i += batch_) {
      cmds.clear();
      for (size_t j = i; j < std::min(keys.size(), i + batch_); ++j)
        cmds.push_back({"EXISTS", keys[j]});
      std::vector<Reply> s = scan_client(pair_).execute(cmds);
      std::vector<Reply> t = sweep_target_->execute(cmds);
      for (size_t j = 0; j < cmds.size() && j < s.size() && j < t.size(); ++j) {
        if (s[j].is_error() || s[j].integer != 0 || t[j].is_error() || t[j].integer != 1) continue;
        ++still;
        kept.push_back({.db = pair_endpoint(false).db,
                        .key = keys[i + j],
                        .action = Outcome::Action::None,
                        .outcome = Outcome::Result::Skipped,
                        .error = {},
                        .detail = "on the target only after an event gap (gone from the source): "
                                  "kept, replicate --delete-extra or repair --delete-extra deletes "
                                  "it"});
      }
    }
  } catch (const Error& e) {
    // Unknown now: every key found is counted (the exit code stays 1).
    log::warn(std::string("cannot check again the keys found on the target only: ") + e.what());
    return;
  }
  extras_kept_ = still;
  store_.add_outcomes(result_.run_id, kept);
}

}  // namespace migcheck::replicate_internal

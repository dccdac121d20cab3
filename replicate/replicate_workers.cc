// The replicate engine's copy workers: each owns a client per side and a
// copier, and takes keys from its inbox (bounded: back-pressure on the
// scanner and the event queue). Keys are routed to workers by hash, so one
// key always meets the same copier; results become the live counters, the
// lag histogram and the store's outcome rows.
#include <functional>

#include "metrics.h"
#include "replicate_engine.h"

namespace migcheck::replicate_internal {
namespace {

bool is_filtered(const Outcome& o) {
  return o.action == Outcome::Action::None && o.outcome == Outcome::Result::Skipped &&
         o.detail.ends_with(" not selected");
}

}  // namespace

Worker::Worker(Engine& engine, size_t index) : engine_(engine) {
  const auto& o = engine.opts();
  ClientOptions sc = engine.worker_source_client(), tc = engine.target_client();
  sc.conn.client_name = tc.conn.client_name = "migcheck-replicate-" + std::to_string(index);
  (void)o;
  src_ = std::make_unique<Client>(engine.pair_endpoint(true), sc);
  tgt_ = std::make_unique<Client>(engine.pair_endpoint(false), tc);
  copier_ = std::make_unique<Copier>(
      *src_, *tgt_, engine.copy_options(),
      [this](std::vector<CopyResult>& rs) { engine_.on_results(rs, to_store_); });
  capacity_ = 4 * engine.batch();
}

void Worker::push(std::vector<Keyed>& keys, const std::atomic<bool>& abort) {
  std::unique_lock lock(mu_);
  for (auto& k : keys) {
    if (inbox_.size() >= capacity_) {
      cv_in_.notify_one();
      cv_space_.wait(lock, [&] { return inbox_.size() < capacity_ || closing_ || abort.load(); });
      if (closing_ || abort.load()) return;
    }
    inbox_.push_back(std::move(k));
  }
  idle_ = false;
  cv_in_.notify_one();
}

void Worker::run() {
  std::vector<Keyed> take;
  try {
    for (;;) {
      take.clear();
      {
        std::unique_lock lock(mu_);
        if (inbox_.empty() && copier_->idle()) {
          // Stored before going idle, so a drained engine has every outcome
          // in the store (a checkpoint relies on it).
          if (!to_store_.empty()) {
            lock.unlock();
            engine_.flush(to_store_);
            continue;
          }
          idle_ = true;
          cv_in_.wait(lock, [&] { return !inbox_.empty() || closing_; });
          if (inbox_.empty()) break;  // closing, nothing left
        }
        // One batch for the next probe stage, no more: keys wait in the
        // inbox, where back-pressure works.
        const size_t room =
            engine_.batch() > copier_->waiting() ? engine_.batch() - copier_->waiting() : 0;
        while (!inbox_.empty() && take.size() < room) {
          take.push_back(std::move(inbox_.front()));
          inbox_.pop_front();
        }
        idle_ = false;
        cv_space_.notify_all();
      }
      for (auto& [k, at] : take) copier_->add(std::move(k), at);
      copier_->step();
    }
    engine_.flush(to_store_);
  } catch (...) {
    try {
      engine_.flush(to_store_);
    } catch (...) {
    }
    error_ = std::current_exception();
    engine_.worker_failed(error_);
    std::lock_guard lock(mu_);
    inbox_.clear();
    idle_ = true;
    cv_space_.notify_all();
  }
}

void Engine::on_results(std::vector<CopyResult>& rs, std::vector<Outcome>& to_store) {
  LagHistogram local;
  uint64_t applied = 0;
  Metrics& metrics = Metrics::get();
  for (auto& r : rs) {
    if (r.queued != SteadyTime{}) {
      const int64_t lag_us = std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::microseconds>(r.done - r.queued).count());
      local.add(static_cast<uint64_t>(lag_us));
      metrics.replication_lag(static_cast<double>(lag_us) / 1e6);
      ++applied;
    }
    const Outcome& o = r.outcome;
    done_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(r.bytes, std::memory_order_relaxed);
    if (o.outcome == Outcome::Result::Copied) {
      copied_.fetch_add(1, std::memory_order_relaxed);
      metrics.keys_copied(1);
      if (o.action == Outcome::Action::Fallback) by_type_.fetch_add(1, std::memory_order_relaxed);
    } else if (o.outcome == Outcome::Result::Deleted) {
      deleted_.fetch_add(1, std::memory_order_relaxed);
    } else if (o.outcome == Outcome::Result::Failed) {
      failed_.fetch_add(1, std::memory_order_relaxed);
      metrics.keys_failed(1);
      to_store.push_back(o);
    } else if (o.outcome == Outcome::Result::Skipped && !is_filtered(o)) {
      skipped_.fetch_add(1, std::memory_order_relaxed);
      to_store.push_back(o);
    }
  }
  applied_.fetch_add(applied, std::memory_order_relaxed);
  if (applied > 0) metrics.events("applied", static_cast<int64_t>(applied));
  metrics.queue_depth(static_cast<int64_t>(queue_.size()));
  {
    std::lock_guard lock(mu_);
    lag_.merge(local);
    if (!sweep_keys_.empty())
      for (const auto& r : rs)
        if (sweep_keys_.erase(r.outcome.key) > 0 && r.outcome.outcome == Outcome::Result::Deleted)
          extras_deleted_.fetch_add(1, std::memory_order_relaxed);
    for (auto& r : rs) {
      const Outcome& o = r.outcome;
      if (o.outcome == Outcome::Result::Failed && result_.failures.size() < kKeptOutcomes)
        result_.failures.push_back(o);
      if (o.outcome == Outcome::Result::Skipped && !is_filtered(o) &&
          result_.skipped.size() < kKeptOutcomes)
        result_.skipped.push_back(o);
    }
  }
  if (to_store.size() >= kStoreFlush) flush(to_store);
}

// Workers copy one db pair at a time: moving to another drains and replaces
// them (their counters are kept).
void Engine::use_pair(size_t pair) {
  if (pair == pair_ && !workers_.empty()) return;
  while (!workers_drained() && !stopping()) std::this_thread::sleep_for(Millis(1));
  stop_workers();
  if (worker_error_) std::rethrow_exception(worker_error_);
  for (const auto& w : workers_) copy_base_ += w->counters();
  workers_.clear();
  pair_ = pair;
  const size_t n = std::max<size_t>(o_.connections, 1);
  for (size_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(*this, i));
  for (auto& w : workers_) w->start();
}

void Engine::dispatch(std::vector<std::string>& keys, SteadyTime queued) {
  std::vector<Keyed> k;
  k.reserve(keys.size());
  for (auto& key : keys) k.emplace_back(std::move(key), queued);
  dispatch(k);
}

void Engine::dispatch(std::vector<Keyed>& keys) {
  if (keys.empty()) return;
  const size_t n = workers_.size();
  if (n == 1) {
    workers_[0]->push(keys, abort_);
    return;
  }
  std::vector<std::vector<Keyed>> parts(n);
  std::hash<std::string> h;
  for (auto& k : keys) parts[h(k.first) % n].push_back(std::move(k));
  for (size_t i = 0; i < n; ++i)
    if (!parts[i].empty()) workers_[i]->push(parts[i], abort_);
}

bool Engine::workers_drained() {
  for (auto& w : workers_)
    if (!w->drained()) return false;
  return true;
}

void Engine::stop_workers() {
  for (auto& w : workers_) w->close_and_join();
}

}  // namespace migcheck::replicate_internal

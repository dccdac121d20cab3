// One round of the compare engine: producer threads feed a bounded queue,
// worker threads read and classify, a watcher ends the round on a stop or a
// restart and checkpoints it every few seconds; the round's record is
// stored even when it was cut short.
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>

#include "compare_engine.h"
#include "log.h"
#include "metrics.h"
#include "result_json.h"
#include "stop_token.h"
#include "wall_clock.h"

namespace migcheck::compare_internal {

void Engine::run_round(int round, bool resumed) {
  check_stop();
  const auto t0 = std::chrono::steady_clock::now();
  reset_round_state();
  round_t0_ = t0;
  // A sampled round is not resumable mid-way: its checkpoint stays at its start.
  const bool resumable = round > 1 || sample_ == 0;
  if (resumed) {
    const nlohmann::json& j = resume_;
    if (resumable) {
      round_keys_ = j.value("keys_checked", int64_t{0});
      round_diffs_ = j.value("differences", int64_t{0});
      round_elapsed_base_ = j.value("elapsed_ms", int64_t{0});
      if (j.contains("source")) streams_[0].position = j["source"];
      if (j.contains("target")) streams_[1].position = j["target"];
    }
    log::info("resuming round " + std::to_string(round) + " after " +
              std::to_string(round_keys_.load()) + " checked key(s)");
  }
  int64_t total = -1;
  if (round == 1) {
    if (sample_ > 0)
      total = static_cast<int64_t>(sample_);
    else if (o_.match.empty() && o_.types.empty())
      total = source_keys_;
  } else {
    DifferenceFilter f;
    f.round = round - 1;
    total = store_.count_differences(result_.run_id, f);
  }
  progress_.start("round " + std::to_string(round), total);
  Metrics::get().round(round);
  progress_.add_keys(round_keys_.load());
  progress_.add_differences(round_diffs_.load());

  queue_ = std::make_unique<WorkQueue<WorkItem>>(workers_.size() * 2 + 2);
  std::vector<std::jthread> producers;
  auto spawn = [&](auto fn) {
    queue_->add_producer();
    producers.emplace_back([this, fn] {
      try {
        fn();
      } catch (...) {
        fail(std::current_exception());
      }
      queue_->producer_done();
    });
  };
  if (round == 1) {
    if (sample_ > 0) {
      spawn([this] { produce_sample(WorkItem::Side::Source); });
      if (o_.target_scan) spawn([this] { produce_sample(WorkItem::Side::Target); });
    } else if (o_.target_scan && !resumed) {
      spawn([this] { produce_source_then_target(); });
    } else {
      spawn([this] { produce_scan(WorkItem::Side::Source); });
      if (o_.target_scan) spawn([this] { produce_scan(WorkItem::Side::Target); });
    }
  } else {
    spawn([this, round] { produce_recheck(round - 1); });
  }
  std::vector<std::jthread> threads;
  for (size_t i = 0; i < workers_.size(); ++i)
    threads.emplace_back([this, i, round] {
      try {
        work(i, round);
      } catch (...) {
        fail(std::current_exception());
      }
    });
  // A stop request (signal) or a restart ends the round: the run's stop
  // token is raised (waking a rate-limited sleeper) and the queue aborted,
  // so producers and workers end. It also checkpoints the round every few
  // seconds, so a killed process loses at most that much work.
  std::jthread watcher([this, round, resumable](std::stop_token done) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    run_.restart_checkpoint_clock();
    while (!run_.aborted() && !done.stop_requested()) {
      if (run_.stop_requested() || run_.watch().pending()) {
        run_.abort();
        queue_->abort();
        break;
      }
      if (resumable && run_.checkpoint_due()) {
        try {
          save_checkpoint(round);
        } catch (...) {
          fail(std::current_exception());
          break;
        }
      }
      // Ends at once when the round is over (done).
      cv.wait_for(lock, done, Millis(50), [] { return false; });
    }
  });
  for (auto& t : producers) t.join();
  for (auto& t : threads) t.join();
  watcher.request_stop();
  watcher.join();
  progress_.finish();
  const bool complete = !error_ && !run_.stopping();
  if (!complete && resumable) {
    try {
      save_checkpoint(round);
    } catch (const std::exception& e) {
      log::warn(std::string("cannot checkpoint the run: ") + e.what());
    }
  }

  // Recorded even when the round was cut short (interrupted, failed): the
  // run's status says so, and its rows are there to be listed.
  RoundSummary rs;
  rs.round = round;
  rs.keys_checked = round_keys_.load();
  rs.differences = round_diffs_.load();
  rs.elapsed_ms = round_elapsed_base_ + since_ms(t0);
  result_.rounds.push_back(rs);
  store_.put_round(round_record(result_.run_id, rs));
  if (round == 1) set_round1(rs);
  if (round == 1 && complete) big_keys_known_ = true;
  if (error_) std::rethrow_exception(error_);
  check_stop();
}

void Engine::fail(std::exception_ptr e) {
  {
    std::lock_guard lock(err_mu_);
    if (!error_ && !stop_token::is_stop(e)) error_ = e;  // a stop: check_stop() says so
  }
  run_.abort();
  if (queue_) queue_->abort();
}

}  // namespace migcheck::compare_internal

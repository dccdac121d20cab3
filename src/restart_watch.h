// Notices a server that restarted, or was replaced by a failover, under a
// run: INFO's run_id is new with every server process. Such a server has
// lost the run's SCAN cursors (a new process hashes keys with a new seed, so
// a cursor from the old one skips and repeats keys) and perhaps writes it
// had acknowledged (persistence is asynchronous). The clients of a run share
// one watch and report every connection they make; the engines ask it
// whether anything restarted and start their pass over.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace migcheck {

class RestartWatch {
 public:
  // A connection to `address` (Endpoint::address()) found the server's
  // `run_id` (empty: it would not say). True when the address had another
  // run_id before: that server restarted or was replaced meanwhile.
  bool observe(const std::string& address, const std::string& run_id);
  // A cluster replica `new_id` now holds the slots of its primary `old_id`
  // (a failover): a new process for those slots, which may lack writes the
  // old one acknowledged. Counted as a restart once per pair, however many
  // clients of the run notice it. True the first time.
  bool failed_over(const std::string& old_id, const std::string& new_id);
  // Restarts noticed so far.
  uint64_t restarts() const { return restarts_.load(); }
  // Whether a restart was noticed that the run has not acted upon yet.
  bool pending() const { return restarts_.load() != handled_.load(); }
  // The run acts upon what was noticed so far.
  void acknowledge() { handled_ = restarts_.load(); }
  // The run starts over (`starts_over` counts how often): says so as a
  // warning, "a server restarted during <what>: <consequence> (N of at most
  // kMaxStartsOver)", and acknowledges; past kMaxStartsOver it throws
  // ConnectionError instead.
  void start_over(int& starts_over, std::string_view what, std::string_view consequence);

  // The run_ids seen, {address: run_id}, for a checkpoint; load() takes them
  // back on resume, so that a server restarted while the run was stopped is
  // noticed, at its next connection or, if one was made already, at once.
  nlohmann::json to_json() const;
  void load(const nlohmann::json& saved);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> run_ids_;
  std::set<std::string> blind_;  // addresses that would not say (warned once)
  std::set<std::pair<std::string, std::string>> failovers_;  // (old, new) cluster node ids
  std::atomic<uint64_t> restarts_{0};
  std::atomic<uint64_t> handled_{0};
};

// How often a run starts over for restarted servers before it gives up.
constexpr int kMaxStartsOver = 3;

}  // namespace migcheck

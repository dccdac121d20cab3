// A migcheck run in the background with a production event landed while it
// still runs, for the tests that kill, restart, stall, reshard or fail over
// servers under a run (cluster_target_test, loading_restart_test,
// failover_test, live_sweep_test, live_failover_test): their output files,
// the run itself (batch or live), and the totals it stored.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "failover_fixture.h"
#include "latest_run.h"

namespace migcheck::test {

// <tmp>/migcheck-<prefix>-<pid>-<name>: one namespace of files per test file
// and test process.
inline std::string tmp_file(const std::string& prefix, const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("migcheck-" + prefix + "-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

// What run_through saw: migcheck's exit code, whether it still ran when the
// event was over, and its stderr for the failure message.
struct EventRun {
  int code = -1;
  bool running_after = false;
  std::string err;
};

// migcheck `args` in the background, its output in `files`.out and
// `files`.err; after `after`, while it still runs (required, so that the
// event lands mid-run), `event`. Returns once migcheck ends.
inline EventRun run_through(const std::vector<std::string>& args, const std::string& files,
                            std::chrono::milliseconds after, const std::function<void()>& event) {
  Spawned proc(args, files + ".out", files + ".err");
  std::this_thread::sleep_for(after);
  REQUIRE(proc.running());
  event();
  EventRun r;
  r.running_after = proc.running();
  r.code = proc.wait(std::chrono::seconds(120));
  r.err = read_all(files + ".err");
  return r;
}

// The counts a compare must end with.
struct Expected {
  long long keys = 0, differences = 0;
};

// `compare <endpoints_and_options> --rounds 1 --quiet --retry-for 30s`
// into a fresh store `files`.db, landing `event` mid-run (see run_through);
// checks that it ends with exit 1 having checked and found what `expected`
// says and, with `outlives_event`, that it still ran once the event was
// over. Its totals, for more checks.
inline nlohmann::json compare_through(std::vector<std::string> endpoints_and_options,
                                      const std::string& files, Expected expected,
                                      std::chrono::milliseconds after,
                                      const std::function<void()>& event,
                                      bool outlives_event = false) {
  const std::string store = files + ".db";
  std::filesystem::remove(store);
  auto& args = endpoints_and_options;
  args.insert(args.begin(), "compare");
  args.insert(args.end(), {"--store", store, "--rounds", "1", "--quiet", "--retry-for", "30s"});
  const auto ran = run_through(args, files, after, event);
  INFO(ran.err);
  if (outlives_event) CHECK(ran.running_after);
  REQUIRE(ran.code == 1);
  auto totals = latest_totals(store, "compare");
  INFO(totals.dump());
  CHECK(totals["keys_checked"] == expected.keys);
  CHECK(totals["differences"] == expected.differences);
  return totals;
}

// `replicate --mode live` from `source` to `target` in the background, its
// store `files`.db (any earlier one removed first) and its output in
// `files`.out and `files`.err, with `options` beside --retry-for 30s;
// constructed once its first scan pass is done (required), so that what the
// test does next lands under live tailing.
class LiveRun {
 public:
  LiveRun(const std::string& source, const std::string& target, const std::string& files,
          const std::vector<std::string>& options = {})
      : files_(files),
        store_(fresh_store(files + ".db")),
        proc_(args(source, target, options), files + ".out", files + ".err") {
    REQUIRE(eventually([&] { return logged("scan pass done"); }, std::chrono::seconds(20)));
  }
  const std::string& store() const { return store_; }
  std::string err() const { return read_all(files_ + ".err"); }
  std::string out() const { return read_all(files_ + ".out"); }
  bool logged(const std::string& text) const { return err().find(text) != std::string::npos; }
  bool running() { return proc_.running(); }
  // Stops the run as an operator would (SIGINT) and checks that it exits
  // with `code`; the totals it stored.
  nlohmann::json stop(int code) {
    proc_.signal(SIGINT);
    const int got = proc_.wait(std::chrono::seconds(60));
    INFO(err());
    CHECK(got == code);
    return latest_totals(store_, "replicate");
  }

 private:
  static std::string fresh_store(const std::string& path) {
    std::filesystem::remove(path);
    return path;
  }
  std::vector<std::string> args(const std::string& source, const std::string& target,
                                const std::vector<std::string>& options) const {
    std::vector<std::string> a{"replicate", source, target,        "--store", store_,
                               "--mode",    "live", "--retry-for", "30s"};
    a.insert(a.end(), options.begin(), options.end());
    return a;
  }

  std::string files_, store_;
  Spawned proc_;
};

// Waits up to `timeout` until the target holds exactly the cluster's keys
// (plus `extra`) with their values and `also` holds, then checks that it
// came to that, saying what differs and what the run logged.
inline void check_converges(
    TestCluster& c, TestServer& target, long long extra, std::chrono::seconds timeout,
    const LiveRun& run, const std::function<bool()>& also = [] { return true; }) {
  std::string why;
  const bool equal =
      eventually([&] { return target_equals(c, target, extra, why) && also(); }, timeout);
  INFO(why);
  INFO(run.err());
  CHECK(equal);
}

// A source and a target for live runs through a failover: a 3-master
// cluster with one replica each that fails over within a second and
// notifies every keyspace event, holding 300 keys pre:<i> made by
// `make(key, i)`, its replicas in sync; `victim` is the primary of slot
// 16383 (never the seed) and `heir` its replica; the target is a
// standalone server.
struct FailoverPair {
  TestCluster cluster{ServerOptions{.config = {{"cluster-node-timeout", "1000"},
                                               {"notify-keyspace-events", "KEA"}}},
                      3, 1};
  TestServer target;
  int victim = -1;
  int heir = -1;
  explicit FailoverPair(
      const std::function<std::vector<std::string>(const std::string&, int)>& make) {
    for (int i = 0; i < 300; ++i) cluster.cmd_routed(make("pre:" + std::to_string(i), i));
    REQUIRE(eventually([&] { return replicated(cluster); }, std::chrono::seconds(30)));
    victim = owner_of(cluster, 0, 16383);
    REQUIRE(victim > 0);  // not the seed
    heir = replica_of(cluster, victim);
    REQUIRE(heir >= 0);
  }
  std::string heir_addr() { return "127.0.0.1:" + std::to_string(cluster.node(heir).port()); }
};

}  // namespace migcheck::test

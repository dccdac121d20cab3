// Production events on the cluster side of a run, against real 3-master
// clusters with one replica each (cluster-node-timeout 1 s): a cluster as
// the *target* of replicate and compare with one of its masters killed
// mid-run or a slot range resharded, and a source master killed (or failed
// over with CLUSTER FAILOVER, or resharded) during `repair` and during
// `replicate --mode scan`. Each run must end exact: totals, then DEBUG
// DIGEST-VALUE key by key as the oracle.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "failover_fixture.h"
#include "run_fixture.h"
#include "server_fixture.h"
#include "store.h"

using namespace std::chrono_literals;
namespace t = migcheck::test;

namespace {

const t::ServerOptions kFastFailover{.config = {{"cluster-node-timeout", "1000"}}};

std::string tmp(const std::string& name) {
  return t::tmp_file("ctarget", name);
}

using t::latest_totals;
using t::run_through;

// n keys of three types; `variant` changes every 200th value.
std::vector<std::vector<std::string>> dataset(int n, bool variant = false) {
  std::vector<std::vector<std::string>> c;
  for (int i = 0; i < n; ++i) {
    const std::string k = std::to_string(i);
    const std::string v = variant && i % 200 == 0 ? "other" : "v" + k;
    switch (i % 3) {
      case 0:
        c.push_back({"SET", "s:" + k, v});
        break;
      case 1:
        c.push_back({"HSET", "h:" + k, "f", v, "g", k});
        break;
      default:
        c.push_back({"RPUSH", "l:" + k, v, k, "x"});
    }
  }
  return c;
}

void load(t::TestCluster& c, const std::vector<std::vector<std::string>>& cmds) {
  for (const auto& cmd : cmds) {
    auto r = c.reply_routed(cmd);
    if (r.is_error()) throw std::runtime_error(r.str);
  }
}

// Every key of `cmds` has the same DEBUG DIGEST-VALUE on the standalone
// server and on the cluster node that owns it now.
void check_digests(t::TestServer& single, t::TestCluster& cluster,
                   const std::vector<std::vector<std::string>>& cmds) {
  std::vector<int> owner(16384, -1);
  auto slots = cluster.node(0).reply({"CLUSTER", "SLOTS"});
  for (const auto& range : slots.elements)
    for (long long s = range.elements[0].integer; s <= range.elements[1].integer; ++s)
      for (int i = 0; i < cluster.size(); ++i)
        if (cluster.node(i).port() == range.elements[2].elements[1].integer)
          owner[static_cast<size_t>(s)] = i;
  for (const auto& cmd : cmds) {
    const std::string& k = cmd[1];
    const int o = owner[static_cast<size_t>(t::key_slot(k))];
    REQUIRE(o >= 0);
    INFO(k);
    REQUIRE(cluster.node(o).debug_digest_value(k) == single.debug_digest_value(k));
  }
}

// One compare round of `source` against `target` into `store`.
t::ProcessResult compare_once(const std::string& source, const std::string& target,
                              const std::string& store) {
  return t::run_migcheck({"compare", source, target, "--store", store, "--rounds", "1", "--quiet"});
}

// dataset(n, true) without the keys whose index is `gap` modulo `every`:
// for a target that lacks those and has other values for some.
std::vector<std::vector<std::string>> damaged(int n, size_t every, size_t gap) {
  const auto changed = dataset(n, true);
  std::vector<std::vector<std::string>> out;
  for (size_t i = 0; i < changed.size(); ++i)
    if (i % every != gap) out.push_back(changed[i]);
  return out;
}

// migcheck `command` <endpoints_and_options> --store `store` --quiet
// --retry-for 30s, landing `event` mid-run (see run_through; output in
// `files`.out/.err).
t::EventRun command_through(const std::string& command,
                            std::vector<std::string> endpoints_and_options,
                            const std::string& store, const std::string& files,
                            std::chrono::milliseconds after, const std::function<void()>& event) {
  auto& args = endpoints_and_options;
  args.insert(args.begin(), command);
  args.insert(args.end(), {"--store", store, "--quiet", "--retry-for", "30s"});
  return run_through(args, files, after, event);
}

// A compare of `source` against `target` into `store`, which must find
// differences, then `repair` at `ops_per_sec` with `event` landed mid-run
// (see run_through; output in `files`.out/.err), which must end with 0.
// What the repair run saw.
t::EventRun repair_through(const std::string& source, const std::string& target,
                           const std::string& store, const std::string& files,
                           const std::string& ops_per_sec, std::chrono::milliseconds after,
                           const std::function<void()>& event) {
  const auto r = compare_once(source, target, store);
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  auto ran = command_through("repair", {source, target, "--max-ops-per-sec", ops_per_sec}, store,
                             files, after, event);
  INFO(ran.err);
  CHECK(ran.code == 0);
  return ran;
}

// tmp(`name`), removed: the path of a fresh store.
std::string fresh_store(const std::string& name) {
  const std::string store = tmp(name);
  std::filesystem::remove(store);
  return store;
}

// A standalone source holding dataset(n), a 3-master cluster target with
// `replicas` replicas a master, its replicas in sync, and a fresh store
// `name`.db.
struct IntoCluster {
  t::TestServer source;
  t::TestCluster target;
  std::vector<std::vector<std::string>> data;
  std::string store;
  IntoCluster(int replicas, int n, const std::string& name)
      : target(kFastFailover, 3, replicas), data(dataset(n)), store(fresh_store(name + ".db")) {
    source.pipeline(data);
    REQUIRE(t::eventually([&] { return t::replicated(target); }, 30s));
  }
  // replicate source -> target at `ops_per_sec` into the store, `event`
  // landed mid-run (output in tmp(`files`).out/.err); it must end with 0.
  t::EventRun replicate(const std::string& ops_per_sec, const std::string& files,
                        std::chrono::milliseconds after, const std::function<void()>& event) {
    auto ran = command_through("replicate",
                               {source.uri(), target.seed_uri(), "--max-ops-per-sec", ops_per_sec},
                               store, tmp(files), after, event);
    INFO(ran.err);
    REQUIRE(ran.code == 0);
    return ran;
  }
};

// A 3-master cluster source with one replica a master, holding dataset(n),
// its replicas in sync.
struct FromCluster {
  t::TestCluster source;
  std::vector<std::vector<std::string>> data;
  explicit FromCluster(int n) : source(kFastFailover, 3, 1), data(dataset(n)) {
    load(source, data);
    REQUIRE(t::eventually([&] { return t::replicated(source); }, 30s));
  }
};

// CLUSTER FAILOVER on the replica of the primary owning slot 16383; returns
// once that replica holds the slot.
void fail_over_last(t::TestCluster& c) {
  const int owner = t::owner_of(c, 0, 16383);
  const int heir = t::replica_of(c, owner);
  REQUIRE(heir >= 0);
  REQUIRE(c.node(heir).cmd({"CLUSTER", "FAILOVER"}) == "OK");
  REQUIRE(t::eventually([&] { return t::owner_of(c, 0, 16383) == heir; }, 20s));
}

// Moves `slots` slots from the owner of slot 16383 to the owner of slot 0.
void reshard_last(t::TestCluster& c, int slots) {
  t::reshard(c, t::owner_of(c, 0, 16383), t::owner_of(c, 0, 0), slots);
}

}  // namespace

TEST_CASE("cluster target: replicate into a cluster whose master is killed mid-run ends exact",
          "[cluster][failover][integration]") {
  IntoCluster pair(1, 6000, "repl");
  auto& [source, target, data, store] = pair;
  // Writes the killed master acknowledged but had not passed to its
  // replica are lost with it: the run must notice and copy them again.
  pair.replicate("5000", "repl", 1200ms, [&] { t::kill_last_primary_and_wait(target); });
  auto tot = latest_totals(store, "replicate");
  INFO(tot.dump());
  CHECK(tot["starts_over"].get<int>() >= 1);
  check_digests(source, target, data);
}

TEST_CASE("cluster target: compare into a cluster whose master is killed mid-run is exact",
          "[cluster][failover][integration]") {
  t::TestServer source;
  t::TestCluster target(kFastFailover, 3, 1);
  source.pipeline(dataset(6000));
  load(target, dataset(6000, true));
  REQUIRE(t::eventually([&] { return t::replicated(target); }, 30s));
  t::compare_through({source.uri(), target.seed_uri(), "--max-ops-per-sec", "5000"}, tmp("cmp"),
                     {.keys = 6000, .differences = 30}, 1200ms,
                     [&] { t::kill_last_primary_and_wait(target); });
}

TEST_CASE("failover: repair with a source master killed mid-run repairs every difference",
          "[cluster][failover][integration]") {
  FromCluster from(6000);
  auto& [source, data] = from;
  t::TestServer target;
  // The target lacks a third of the keys and has other values for some.
  target.pipeline(damaged(6000, 3, 0));
  const std::string store = fresh_store("repair.db");
  repair_through(source.seed_uri(), target.uri(), store, tmp("repair"), "2000", 800ms,
                 [&] { t::kill_last_primary_and_wait(source); });
  check_digests(target, source, data);
  CHECK(compare_once(source.seed_uri(), target.uri(), store).exit_code == 0);
}

TEST_CASE("failover: replicate --mode scan with a source master killed mid-run ends exact",
          "[cluster][failover][integration]") {
  FromCluster from(6000);
  auto& [source, data] = from;
  t::TestServer target;
  const std::string store = fresh_store("scan.db");
  const auto ran = command_through(
      "replicate", {source.seed_uri(), target.uri(), "--mode", "scan", "--max-ops-per-sec", "5000"},
      store, tmp("scan"), 1000ms, [&] { t::kill_last_primary_and_wait(source); });
  INFO(ran.err);
  REQUIRE(ran.code == 0);
  CHECK(target.cmd({"DBSIZE"}) == "6000");
  check_digests(target, source, data);
}

TEST_CASE(
    "failover: repair through CLUSTER FAILOVER on a source replica, then through a source "
    "reshard, repairs every difference",
    "[cluster][failover][integration]") {
  FromCluster from(1800);
  auto& [source, data] = from;
  t::TestServer target;
  auto run = [&](const std::string& name, const std::function<void()>& event) {
    INFO(name);
    // The target lacks a sixth of the keys and has other values for some.
    target.cmd({"FLUSHALL"});
    target.pipeline(damaged(1800, 6, 1));
    const std::string store = fresh_store(name + ".db");
    const auto ran =
        repair_through(source.seed_uri(), target.uri(), store, tmp(name), "300", 500ms, event);
    INFO(ran.err);
    CHECK(ran.running_after);
    CHECK(target.cmd({"DBSIZE"}) == "1800");
    check_digests(target, source, data);
    CHECK(compare_once(source.seed_uri(), target.uri(), store).exit_code == 0);
  };
  run("graceful", [&] { fail_over_last(source); });
  REQUIRE(t::eventually([&] { return t::replicated(source); }, 30s));
  run("reshard", [&] { reshard_last(source, 400); });
}

TEST_CASE("cluster target: replicate and compare while a target slot range is resharded end exact",
          "[cluster][integration]") {
  IntoCluster pair(0, 4000, "treshard");
  auto& [source, target, data, store] = pair;
  // The reshard happened under the pass.
  CHECK(
      pair.replicate("2000", "treshard", 500ms, [&] { reshard_last(target, 600); }).running_after);
  check_digests(source, target, data);
  long long total = 0;
  for (int i = 0; i < target.size(); ++i) total += target.node(i).reply({"DBSIZE"}).integer;
  CHECK(total == 4000);
  CHECK(latest_totals(store, "replicate")["copied"] == 4000);
  // Compare, with another slot range moving meanwhile: every key once, no difference.
  {
    const auto ran = run_through(
        {"compare", source.uri(), target.seed_uri(), "--store", store, "--rounds", "1", "--quiet",
         "--max-ops-per-sec", "3000", "--retry-for", "30s"},
        tmp("tcompare"), 400ms,
        [&] { t::reshard(target, t::owner_of(target, 0, 0), t::owner_of(target, 0, 8000), 600); });
    INFO(ran.err);
    CHECK(ran.running_after);
    CHECK(ran.code == 0);
  }
  const auto tot = latest_totals(store, "compare");
  CHECK(tot["keys_checked"] == 4000);
  CHECK(tot["differences"] == 0);
}

TEST_CASE(
    "cluster target: replicate, then repair, through CLUSTER FAILOVER on a target replica end "
    "exact",
    "[cluster][failover][integration]") {
  IntoCluster pair(1, 3000, "tfo");
  auto& [source, target, data, store] = pair;
  // The demoted master answers MOVED (or READONLY) to writes from then on:
  // they must reach the promoted replica, none lost and none doubled.
  auto fail_over = [&] { fail_over_last(target); };
  pair.replicate("3000", "tfo", 600ms, fail_over);
  check_digests(source, target, data);
  REQUIRE(t::eventually([&] { return t::replicated(target); }, 30s));

  // A quarter of the source's values change: compare stores them, repair
  // re-copies them while the target fails over again.
  std::vector<std::vector<std::string>> changed;
  for (size_t i = 0; i < data.size(); i += 4) changed.push_back({"SET", data[i][1], "other"});
  source.pipeline(changed);
  repair_through(source.uri(), target.seed_uri(), store, tmp("tfo-repair"), "300", 500ms,
                 fail_over);
  std::vector<std::vector<std::string>> now = data;
  for (size_t i = 0; i < now.size(); i += 4) now[i] = {"SET", data[i][1], "other"};
  check_digests(source, target, now);
  CHECK(compare_once(source.uri(), target.seed_uri(), store).exit_code == 0);
}

TEST_CASE(
    "failover: replicate --mode scan through CLUSTER FAILOVER on a source replica, then through "
    "a source reshard, ends exact",
    "[cluster][failover][integration]") {
  FromCluster from(3000);
  auto& [source, data] = from;
  auto run = [&](const std::string& name, const std::function<void()>& event) {
    t::TestServer target;
    const std::string store = fresh_store(name + ".db");
    const auto ran = command_through(
        "replicate",
        {source.seed_uri(), target.uri(), "--mode", "scan", "--max-ops-per-sec", "3000"}, store,
        tmp(name), 500ms, event);
    INFO(name << ": " << ran.err);
    REQUIRE(ran.code == 0);
    // Every key once: none missed, none counted twice as its slot moved.
    CHECK(target.cmd({"DBSIZE"}) == "3000");
    check_digests(target, source, data);
  };
  run("scan-graceful", [&] { fail_over_last(source); });
  REQUIRE(t::eventually([&] { return t::replicated(source); }, 30s));
  run("scan-reshard", [&] { reshard_last(source, 400); });
}

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
#include "server_fixture.h"
#include "store.h"

using namespace std::chrono_literals;
namespace t = migcheck::test;

namespace {

const t::ServerOptions kFastFailover{.config = {{"cluster-node-timeout", "1000"}}};

std::string tmp(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("migcheck-ctarget-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

nlohmann::json totals(const std::string& store, const std::string& command) {
  migcheck::Store s(store, false);
  auto run = s.latest_run(command);
  REQUIRE(run);
  return nlohmann::json::parse(run->totals_json);
}

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

// migcheck `args` in the background; after `after`, while it still runs
// (required, so the event lands mid-run), `event`. Returns once migcheck
// ends: its exit code, whether it still ran when the event was over, and
// its stderr for the failure message. `name` names its output files.
struct EventRun {
  int code = -1;
  bool running_after = false;
  std::string err;
};
EventRun run_through(const std::vector<std::string>& args, const std::string& name,
                     std::chrono::milliseconds after, const std::function<void()>& event) {
  t::Spawned proc(args, tmp(name + ".out"), tmp(name + ".err"));
  std::this_thread::sleep_for(after);
  REQUIRE(proc.running());
  event();
  EventRun r;
  r.running_after = proc.running();
  r.code = proc.wait(120s);
  r.err = t::read_all(tmp(name + ".err"));
  return r;
}

}  // namespace

TEST_CASE("cluster target: replicate into a cluster whose master is killed mid-run ends exact",
          "[cluster][failover][integration]") {
  t::TestServer source;
  t::TestCluster target(kFastFailover, 3, 1);
  const auto data = dataset(6000);
  source.pipeline(data);
  REQUIRE(t::eventually([&] { return t::replicated(target); }, 30s));  // replicas in sync
  const std::string store = tmp("repl.db");
  std::filesystem::remove(store);
  t::Spawned proc({"replicate", source.uri(), target.seed_uri(), "--store", store, "--quiet",
                   "--max-ops-per-sec", "5000", "--retry-for", "30s"},
                  tmp("repl.out"), tmp("repl.err"));
  std::this_thread::sleep_for(1200ms);
  // Writes the killed master acknowledged but had not passed to its
  // replica are lost with it: the run must notice and copy them again.
  t::kill_last_primary_and_wait(target);
  const int code = proc.wait(120s);
  INFO(t::read_all(tmp("repl.err")));
  REQUIRE(code == 0);
  auto tot = totals(store, "replicate");
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
  const std::string store = tmp("cmp.db");
  std::filesystem::remove(store);
  t::Spawned proc({"compare", source.uri(), target.seed_uri(), "--store", store, "--rounds", "1",
                   "--quiet", "--max-ops-per-sec", "5000", "--retry-for", "30s"},
                  tmp("cmp.out"), tmp("cmp.err"));
  std::this_thread::sleep_for(1200ms);
  t::kill_last_primary_and_wait(target);
  const int code = proc.wait(120s);
  INFO(t::read_all(tmp("cmp.err")));
  REQUIRE(code == 1);
  auto tot = totals(store, "compare");
  INFO(tot.dump());
  CHECK(tot["keys_checked"] == 6000);
  CHECK(tot["differences"] == 30);
}

TEST_CASE("failover: repair with a source master killed mid-run repairs every difference",
          "[cluster][failover][integration]") {
  t::TestCluster source(kFastFailover, 3, 1);
  t::TestServer target;
  const auto data = dataset(6000);
  load(source, data);
  // The target lacks a third of the keys and has other values for some.
  const auto changed = dataset(6000, true);
  std::vector<std::vector<std::string>> partial;
  for (size_t i = 0; i < data.size(); ++i)
    if (i % 3 != 0) partial.push_back(changed[i]);
  target.pipeline(partial);
  REQUIRE(t::eventually([&] { return t::replicated(source); }, 30s));
  const std::string store = tmp("repair.db");
  std::filesystem::remove(store);
  auto r = t::run_migcheck(
      {"compare", source.seed_uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"});
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  t::Spawned proc({"repair", source.seed_uri(), target.uri(), "--store", store, "--quiet",
                   "--max-ops-per-sec", "2000", "--retry-for", "30s"},
                  tmp("repair.out"), tmp("repair.err"));
  std::this_thread::sleep_for(800ms);
  t::kill_last_primary_and_wait(source);
  const int code = proc.wait(120s);
  INFO(t::read_all(tmp("repair.err")));
  CHECK(code == 0);
  check_digests(target, source, data);
  r = t::run_migcheck(
      {"compare", source.seed_uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"});
  CHECK(r.exit_code == 0);
}

TEST_CASE("failover: replicate --mode scan with a source master killed mid-run ends exact",
          "[cluster][failover][integration]") {
  t::TestCluster source(kFastFailover, 3, 1);
  t::TestServer target;
  const auto data = dataset(6000);
  load(source, data);
  REQUIRE(t::eventually([&] { return t::replicated(source); }, 30s));
  const std::string store = tmp("scan.db");
  std::filesystem::remove(store);
  t::Spawned proc({"replicate", source.seed_uri(), target.uri(), "--store", store, "--mode", "scan",
                   "--quiet", "--max-ops-per-sec", "5000", "--retry-for", "30s"},
                  tmp("scan.out"), tmp("scan.err"));
  std::this_thread::sleep_for(1000ms);
  t::kill_last_primary_and_wait(source);
  const int code = proc.wait(120s);
  INFO(t::read_all(tmp("scan.err")));
  REQUIRE(code == 0);
  CHECK(target.cmd({"DBSIZE"}) == "6000");
  check_digests(target, source, data);
}

TEST_CASE(
    "failover: repair through CLUSTER FAILOVER on a source replica, then through a source "
    "reshard, repairs every difference",
    "[cluster][failover][integration]") {
  t::TestCluster source(kFastFailover, 3, 1);
  t::TestServer target;
  const auto data = dataset(1800);
  load(source, data);
  const auto changed = dataset(1800, true);
  REQUIRE(t::eventually([&] { return t::replicated(source); }, 30s));
  auto run = [&](const std::string& name, const std::function<void()>& event) {
    // The target lacks a sixth of the keys and has other values for some.
    target.cmd({"FLUSHALL"});
    std::vector<std::vector<std::string>> partial;
    for (size_t i = 0; i < data.size(); ++i)
      if (i % 6 != 1) partial.push_back(changed[i]);
    target.pipeline(partial);
    const std::string store = tmp(name + ".db");
    std::filesystem::remove(store);
    auto r = t::run_migcheck(
        {"compare", source.seed_uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"});
    INFO(r.err);
    REQUIRE(r.exit_code == 1);
    const auto ran = run_through({"repair", source.seed_uri(), target.uri(), "--store", store,
                                  "--quiet", "--max-ops-per-sec", "300", "--retry-for", "30s"},
                                 name, 500ms, event);
    INFO(name << ": " << ran.err);
    CHECK(ran.running_after);
    CHECK(ran.code == 0);
    CHECK(target.cmd({"DBSIZE"}) == "1800");
    check_digests(target, source, data);
    r = t::run_migcheck(
        {"compare", source.seed_uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"});
    CHECK(r.exit_code == 0);
  };
  run("graceful", [&] {
    const int owner = t::owner_of(source, 0, 16383);
    const int heir = t::replica_of(source, owner);
    REQUIRE(heir >= 0);
    REQUIRE(source.node(heir).cmd({"CLUSTER", "FAILOVER"}) == "OK");
    REQUIRE(t::eventually([&] { return t::owner_of(source, 0, 16383) == heir; }, 20s));
  });
  REQUIRE(t::eventually([&] { return t::replicated(source); }, 30s));
  run("reshard",
      [&] { t::reshard(source, t::owner_of(source, 0, 16383), t::owner_of(source, 0, 0), 400); });
}

TEST_CASE("cluster target: replicate and compare while a target slot range is resharded end exact",
          "[cluster][integration]") {
  t::TestServer source;
  t::TestCluster target(kFastFailover, 3, 0);
  const auto data = dataset(4000);
  source.pipeline(data);
  const std::string store = tmp("treshard.db");
  std::filesystem::remove(store);
  {
    const auto ran = run_through(
        {"replicate", source.uri(), target.seed_uri(), "--store", store, "--quiet",
         "--max-ops-per-sec", "2000", "--retry-for", "30s"},
        "treshard", 500ms,
        [&] { t::reshard(target, t::owner_of(target, 0, 16383), t::owner_of(target, 0, 0), 600); });
    INFO(ran.err);
    CHECK(ran.running_after);  // the reshard happened under the pass
    REQUIRE(ran.code == 0);
  }
  check_digests(source, target, data);
  long long total = 0;
  for (int i = 0; i < target.size(); ++i) total += target.node(i).reply({"DBSIZE"}).integer;
  CHECK(total == 4000);
  CHECK(totals(store, "replicate")["copied"] == 4000);
  // Compare, with another slot range moving meanwhile: every key once, no difference.
  t::Spawned cmp({"compare", source.uri(), target.seed_uri(), "--store", store, "--rounds", "1",
                  "--quiet", "--max-ops-per-sec", "3000", "--retry-for", "30s"},
                 tmp("tcompare.out"), tmp("tcompare.err"));
  std::this_thread::sleep_for(400ms);
  REQUIRE(cmp.running());
  t::reshard(target, t::owner_of(target, 0, 0), t::owner_of(target, 0, 8000), 600);
  CHECK(cmp.running());
  const int code = cmp.wait(120s);
  INFO(t::read_all(tmp("tcompare.err")));
  CHECK(code == 0);
  const auto tot = totals(store, "compare");
  CHECK(tot["keys_checked"] == 4000);
  CHECK(tot["differences"] == 0);
}

TEST_CASE(
    "cluster target: replicate, then repair, through CLUSTER FAILOVER on a target replica end "
    "exact",
    "[cluster][failover][integration]") {
  t::TestServer source;
  t::TestCluster target(kFastFailover, 3, 1);
  const auto data = dataset(3000);
  source.pipeline(data);
  REQUIRE(t::eventually([&] { return t::replicated(target); }, 30s));
  // The demoted master answers MOVED (or READONLY) to writes from then on:
  // they must reach the promoted replica, none lost and none doubled.
  auto fail_over = [&] {
    const int owner = t::owner_of(target, 0, 16383);
    const int heir = t::replica_of(target, owner);
    REQUIRE(heir >= 0);
    REQUIRE(target.node(heir).cmd({"CLUSTER", "FAILOVER"}) == "OK");
    REQUIRE(t::eventually([&] { return t::owner_of(target, 0, 16383) == heir; }, 20s));
  };
  const std::string store = tmp("tfo.db");
  std::filesystem::remove(store);
  {
    const auto ran = run_through({"replicate", source.uri(), target.seed_uri(), "--store", store,
                                  "--quiet", "--max-ops-per-sec", "3000", "--retry-for", "30s"},
                                 "tfo", 600ms, fail_over);
    INFO(ran.err);
    REQUIRE(ran.code == 0);
  }
  check_digests(source, target, data);
  REQUIRE(t::eventually([&] { return t::replicated(target); }, 30s));

  // A quarter of the source's values change: compare stores them, repair
  // re-copies them while the target fails over again.
  std::vector<std::vector<std::string>> changed;
  for (size_t i = 0; i < data.size(); i += 4) changed.push_back({"SET", data[i][1], "other"});
  source.pipeline(changed);
  auto r = t::run_migcheck(
      {"compare", source.uri(), target.seed_uri(), "--store", store, "--rounds", "1", "--quiet"});
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  {
    const auto ran = run_through({"repair", source.uri(), target.seed_uri(), "--store", store,
                                  "--quiet", "--max-ops-per-sec", "300", "--retry-for", "30s"},
                                 "tfo-repair", 500ms, fail_over);
    INFO(ran.err);
    CHECK(ran.code == 0);
  }
  std::vector<std::vector<std::string>> now = data;
  for (size_t i = 0; i < now.size(); i += 4) now[i] = {"SET", data[i][1], "other"};
  check_digests(source, target, now);
  r = t::run_migcheck(
      {"compare", source.uri(), target.seed_uri(), "--store", store, "--rounds", "1", "--quiet"});
  CHECK(r.exit_code == 0);
}

TEST_CASE(
    "failover: replicate --mode scan through CLUSTER FAILOVER on a source replica, then through "
    "a source reshard, ends exact",
    "[cluster][failover][integration]") {
  t::TestCluster source(kFastFailover, 3, 1);
  const auto data = dataset(3000);
  load(source, data);
  REQUIRE(t::eventually([&] { return t::replicated(source); }, 30s));
  auto run = [&](const std::string& name, const std::function<void()>& event) {
    t::TestServer target;
    const std::string store = tmp(name + ".db");
    std::filesystem::remove(store);
    const auto ran =
        run_through({"replicate", source.seed_uri(), target.uri(), "--store", store, "--mode",
                     "scan", "--quiet", "--max-ops-per-sec", "3000", "--retry-for", "30s"},
                    name, 500ms, event);
    INFO(name << ": " << ran.err);
    REQUIRE(ran.code == 0);
    // Every key once: none missed, none counted twice as its slot moved.
    CHECK(target.cmd({"DBSIZE"}) == "3000");
    check_digests(target, source, data);
  };
  run("scan-graceful", [&] {
    const int owner = t::owner_of(source, 0, 16383);
    const int heir = t::replica_of(source, owner);
    REQUIRE(heir >= 0);
    REQUIRE(source.node(heir).cmd({"CLUSTER", "FAILOVER"}) == "OK");
    REQUIRE(t::eventually([&] { return t::owner_of(source, 0, 16383) == heir; }, 20s));
  });
  REQUIRE(t::eventually([&] { return t::replicated(source); }, 30s));
  run("scan-reshard",
      [&] { t::reshard(source, t::owner_of(source, 0, 16383), t::owner_of(source, 0, 0), 400); });
}

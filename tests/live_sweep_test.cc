// The sweep of the target after a live-mode event gap (replicate/live_sweep.cc),
// against a real 3-master cluster with one replica each as the source: keys
// the source loses in a failover window (deleted on the promoted replica
// before migcheck subscribes there, or writes the killed master had
// acknowledged and migcheck had copied, which its replica never got) must
// leave the target with --delete-extra, and be counted and reported (exit 1)
// without it; the same through a Sentinel failover. The oracle: every source key's DEBUG
// DIGEST-VALUE on the target, and exact key counts.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "live.h"
#include "run_fixture.h"
#include "sentinel_fixture.h"
#include "server_fixture.h"
#include "store.h"

using namespace std::chrono_literals;
namespace t = migcheck::test;

namespace {

std::string tmp(const std::string& name) {
  return t::tmp_file("sweep", name);
}

// Up to n keys named prefix + i, i < limit, that hash to slots `owner`
// serves (as node 0 says).
std::vector<std::string> keys_on(t::TestCluster& c, int owner, const std::string& prefix, size_t n,
                                 int limit = 100000) {
  std::vector<std::string> out;
  for (int i = 0; out.size() < n && i < limit; ++i) {
    const std::string k = prefix + std::to_string(i);
    if (t::owner_of(c, 0, t::key_slot(k)) == owner) out.push_back(k);
  }
  return out;
}

// Sets n keys named prefix + i that `owner` serves to `value` on the
// target only (keys the source does not hold); returns them.
std::vector<std::string> target_only(t::TestCluster& c, t::TestServer& target, int owner,
                                     const std::string& prefix, size_t n,
                                     const std::string& value) {
  const auto keys = keys_on(c, owner, prefix, n);
  for (const auto& k : keys) target.pipeline({{"SET", k, value}});
  return keys;
}

// A FailoverPair whose keys are written as {command, key, arg, i}, a live
// run from its cluster into its target (`options`, output in tmp(`name`)),
// then `lost_n` keys the victim serves set to `lost_value` on the target
// only: writes the victim acknowledged, and migcheck copied, that its
// replica never got. (Placed on the target directly: a real lost write
// cannot be produced on demand.)
struct SweepRun {
  t::FailoverPair pair;
  t::LiveRun run;
  std::vector<std::string> lost;
  SweepRun(const std::string& command, const std::string& arg, const std::string& name,
           const std::vector<std::string>& options, size_t lost_n, const std::string& lost_value)
      : pair([&](const std::string& k, int i) {
          return std::vector<std::string>{command, k, arg, std::to_string(i)};
        }),
        run(pair.cluster.seed_uri(), pair.target.uri(), tmp(name), options),
        lost(target_only(pair.cluster, pair.target, pair.victim, "lost:", lost_n, lost_value)) {}
};

}  // namespace

TEST_CASE(
    "live sweep: kill -9 of a source master; keys deleted in the failover window and keys it "
    "never replicated leave the target (--delete-extra)",
    "[failover][live][sweep][integration]") {
  // After the failover the lost writes exist on the target only.
  SweepRun sweep("HSET", "f", "kill", {"--delete-extra"}, 15, "acknowledged-then-lost");
  auto& [cluster, target, victim, heir] = sweep.pair;
  auto& [src, run, lost] = sweep;
  // Keys the test deletes on the promoted replica as soon as it holds the
  // slots: before migcheck is subscribed there, so no event reports them.
  const auto doomed = keys_on(cluster, victim, "pre:", 15, 300);
  REQUIRE(doomed.size() == 15);

  cluster.node(victim).kill9();
  REQUIRE(t::eventually([&] { return t::owner_of(cluster, 0, 16383) == heir; }, 20s));
  for (const auto& k : doomed) cluster.node(heir).pipeline({{"DEL", k}});
  const bool in_gap = !run.logged(src.heir_addr() + " subscribed");
  INFO("deletions landed before the new subscription: " << in_gap);
  REQUIRE(run.running());  // the run was still going through the event

  t::check_converges(cluster, target, 0, 30s, run);
  for (const auto& k : lost) CHECK(target.cmd({"EXISTS", k}) == "0");
  CHECK(target.reply({"DBSIZE"}).integer == 300 - 15);
  const auto totals = run.stop(0);
  INFO(totals.dump());
  CHECK(totals["event_gaps"]["count"].get<int>() >= 1);
  CHECK(totals["event_gaps"]["sweeps"].get<int>() >= 1);
  CHECK(totals["event_gaps"]["extras_found"].get<int>() >= 15);
  CHECK(totals["event_gaps"]["extras_deleted"].get<int>() >= 15);
  CHECK(totals["event_gaps"]["extras_kept"] == 0);
}

TEST_CASE(
    "live sweep: CLUSTER FAILOVER on a source replica; without --delete-extra the keys gone from "
    "the source are counted, kept and make exit 1",
    "[failover][live][sweep][integration]") {
  SweepRun sweep("RPUSH", "a", "graceful", {}, 10, "gone-from-the-source");
  auto& [cluster, target, victim, heir] = sweep.pair;
  auto& [src, run, lost] = sweep;
  // Writes on the old primary while the failover is under way: events of the
  // demoted node or the promoted one, or the rescan, must carry them.
  const auto during = keys_on(cluster, victim, "during:", 20);
  REQUIRE(cluster.node(heir).cmd({"CLUSTER", "FAILOVER"}) == "OK");
  for (const auto& k : during)
    // Nodes disagree about the slots for a moment (MOVED back and forth).
    REQUIRE(t::eventually(
        [&] {
          try {
            return cluster.cmd_routed({"SET", k, "v"}) == "OK";
          } catch (const std::exception&) {
            cluster.refresh_slots();
            return false;
          }
        },
        10s));
  REQUIRE(t::eventually([&] { return t::owner_of(cluster, 0, 16383) == heir; }, 20s));
  REQUIRE(run.running());

  t::check_converges(cluster, target, 10, 30s, run,
                     [&] { return run.logged("kept, as --delete-extra was not given"); });
  for (const auto& k : lost) CHECK(target.cmd({"EXISTS", k}) == "1");
  const auto totals = run.stop(1);  // keys remain that the source does not have
  INFO(totals.dump());
  CHECK(totals["event_gaps"]["sweeps"].get<int>() >= 1);
  CHECK(totals["event_gaps"]["extras_deleted"] == 0);
  CHECK(totals["event_gaps"]["extras_found"].get<int>() >= 10);
  CHECK(totals["event_gaps"]["extras_kept"] == 10);  // still on the target only at the end
  CHECK(run.out().find("--delete-extra") != std::string::npos);
}

TEST_CASE(
    "live sweep: SENTINEL FAILOVER of the source; keys deleted before the resubscription and keys "
    "only the old primary had leave the target (--delete-extra)",
    "[sentinel][live][sweep][integration]") {
  t::TestSentinelSet set({.data = {.config = {{"notify-keyspace-events", "KEA"}}}});
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 400; ++i)
    cmds.push_back({"HSET", "pre:" + std::to_string(i), "f", std::to_string(i)});
  set.primary().pipeline(cmds);
  set.wait_synced();
  t::TestServer target;
  t::LiveRun run(set.uri(), target.uri(), tmp("sentinel"), {"--delete-extra"});
  // Copied from the old primary, never replicated (placed on the target:
  // a real lost write cannot be produced on demand).
  for (int i = 0; i < 10; ++i) target.pipeline({{"SET", "lost:" + std::to_string(i), "x"}});
  set.failover();
  // At once on the promoted primary: before migcheck hears +switch-master
  // and subscribes there, so at least some of these are never notified.
  for (int i = 0; i < 20; ++i) set.primary().pipeline({{"DEL", "pre:" + std::to_string(i * 3)}});
  REQUIRE(run.running());
  auto equal = [&](std::string& why) {
    t::TestServer& src = set.primary();
    const auto keys = src.reply({"KEYS", "*"}).elements;
    if (target.reply({"DBSIZE"}).integer != static_cast<long long>(keys.size())) {
      why = "key counts differ";
      return false;
    }
    for (const auto& k : keys)
      if (target.debug_digest_value(k.str) != src.debug_digest_value(k.str)) {
        why = "value of " + k.str + " differs";
        return false;
      }
    why.clear();
    return true;
  };
  std::string why;
  const bool settled = t::eventually([&] { return equal(why); }, 30s);
  INFO(why);
  INFO(run.err());
  CHECK(settled);
  CHECK(target.reply({"DBSIZE"}).integer == 400 - 20);
  const auto totals = run.stop(0);
  INFO(totals.dump());
  CHECK(totals["event_gaps"]["sweeps"].get<int>() >= 1);
  CHECK(totals["event_gaps"]["extras_deleted"].get<int>() >= 10);
  CHECK(totals["event_gaps"]["extras_kept"] == 0);
}

TEST_CASE("live sweep: the scope of a sweep is the union of the gaps' slots, or every key",
          "[sweep]") {
  migcheck::SweepScope s;
  CHECK(s.empty());
  CHECK(!s.covers(0));
  s.add_range(10, 20);
  CHECK(!s.empty());
  CHECK(s.covers(10));
  CHECK(s.covers(20));
  CHECK(!s.covers(9));
  CHECK(!s.covers(21));
  migcheck::SweepScope other;
  other.add_range(16000, 16383);
  s.merge(other);
  CHECK(s.covers(16383));
  CHECK(s.covers(15));
  CHECK(!s.covers(100));
  migcheck::SweepScope all;
  all.add_all();
  s.merge(all);
  CHECK(s.covers(100));
  s.merge(migcheck::SweepScope{});  // an empty scope adds nothing, removes nothing
  CHECK(s.all);
}

TEST_CASE(
    "live sweep: a lost subscription on one cluster node sweeps that node's slots only "
    "(--delete-extra)",
    "[live][sweep][integration]") {
  t::TestCluster cluster(t::ServerOptions{.config = {{"notify-keyspace-events", "KEA"}}}, 3, 0);
  t::TestServer target;
  for (int i = 0; i < 300; ++i) cluster.cmd_routed({"SET", "pre:" + std::to_string(i), "v"});
  const int cut = t::owner_of(cluster, 0, 16383), other = t::owner_of(cluster, 0, 0);
  REQUIRE(cut != other);
  t::LiveRun run(cluster.seed_uri(), target.uri(), tmp("cut"), {"--delete-extra"});
  const auto lost = target_only(cluster, target, cut, "lost:", 5, "x");
  const auto unrelated = target_only(cluster, target, other, "own:", 5, "x");
  // The subscriber connection is cut (an output buffer limit, a proxy):
  // deletions made before it is re-made are never notified.
  cluster.node(cut).cmd({"CLIENT", "KILL", "TYPE", "pubsub"});
  for (const auto& k : keys_on(cluster, cut, "pre:", 5, 300))
    cluster.node(cut).pipeline({{"DEL", k}});
  REQUIRE(run.running());
  // The cut node's slots are swept; keys of the target's own elsewhere are
  // not this gap's business and stay.
  t::check_converges(cluster, target, 5, 20s, run);
  for (const auto& k : lost) CHECK(target.cmd({"EXISTS", k}) == "0");
  for (const auto& k : unrelated) CHECK(target.cmd({"EXISTS", k}) == "1");
  CHECK(target.reply({"DBSIZE"}).integer == 300 - 5 + 5);
  const auto totals = run.stop(0);
  INFO(totals.dump());
  CHECK(totals["event_gaps"]["count"].get<int>() >= 1);
  CHECK(totals["event_gaps"]["extras_deleted"].get<int>() >= 5);
  CHECK(totals["starts_over"] == 0);  // no restart: the sweep is the gap's alone
}

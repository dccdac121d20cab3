// Cluster topologies end to end (issue: cluster to standalone, standalone to
// cluster, cluster to cluster) for compare, repair and replicate, a slot
// migrated while compare runs, replica reads, and unreachable announced
// addresses. Real 3-master clusters; the CLI is the unit under test.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "server_fixture.h"
#include "test_util.h"

namespace t = migcheck::test;
using t::run_migcheck;
using namespace std::string_literals;

namespace {

using t::Cmds;

// A small dataset of every type; the same commands load a standalone server or a cluster.
Cmds dataset(int n) {
  Cmds c;
  for (int i = 0; i < n; ++i) {
    std::string k = std::to_string(i);
    c.push_back({"SET", "s:" + k, "value-" + k});
    c.push_back({"HSET", "h:" + k, "a", k, "b", "x"});
    c.push_back({"RPUSH", "l:" + k, "1", "2", k});
    c.push_back({"SADD", "set:" + k, "m1", "m2", k});
    c.push_back({"ZADD", "z:" + k, "1.5", "a", k, "b"});
    if (i % 10 == 0) c.push_back({"XADD", "x:" + k, "1-1", "f", "v"});
    if (i % 7 == 0) c.push_back({"PEXPIREAT", "s:" + k, "4102444800000"});
  }
  c.push_back({"SET", "bin:\0\xff"s, "binary"});
  return c;
}

void load(t::TestCluster& cluster, const Cmds& cmds) {
  std::map<t::TestServer*, Cmds> per_node;
  for (const auto& c : cmds) per_node[&cluster.node_for_key(c[1])].push_back(c);
  for (auto& [node, cs] : per_node) node->pipeline(cs);
}

std::string tmp_store(const std::string& name) {
  return migcheck::test::tmp_store("cluster", name);
}

std::vector<nlohmann::json> diffs(const std::string& store) {
  auto r = run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  REQUIRE(r.exit_code == 0);
  std::vector<nlohmann::json> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::map<std::string, std::string> by_key(const std::vector<nlohmann::json>& d) {
  std::map<std::string, std::string> m;
  for (auto& j : d) m[j.value("key", j.value("key_base64", ""))] += j["kind"].get<std::string>();
  return m;
}

// Commands of one kind a server has run (INFO commandstats).
long calls(t::TestServer& s, const std::string& cmd) {
  std::string info = s.cmd({"INFO", "commandstats"});
  auto pos = info.find("cmdstat_" + cmd + ":calls=");
  return pos == std::string::npos ? 0L : std::stol(info.substr(pos + cmd.size() + 15));
}

const std::vector<std::string> kFast = {"--rounds", "2", "--interval", "100ms", "--quiet"};

std::vector<std::string> args(std::vector<std::string> a,
                              const std::vector<std::string>& more = kFast) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

// compare `from` -> `to` into store `name`, which must find differences;
// repair them (--delete-extra) and compare again, which must find none.
// The differences the first compare stored, key -> kind.
std::map<std::string, std::string> differences_then_repair(const std::string& from,
                                                           const std::string& to,
                                                           const std::string& name) {
  const std::string store = tmp_store(name);
  auto r = run_migcheck(args({"compare", from, to, "--store", store}));
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  auto m = by_key(diffs(store));
  r = run_migcheck({"repair", from, to, "--store", store, "--delete-extra", "--quiet"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  r = run_migcheck(args({"compare", from, to, "--store", store}));
  CHECK(r.exit_code == 0);
  return m;
}

}  // namespace

TEST_CASE("cluster: compare, repair and replicate between cluster and standalone",
          "[integration][cluster]") {
  t::TestCluster cluster;
  t::TestServer single;
  load(cluster, dataset(60));
  single.pipeline(dataset(60));

  SECTION("cluster -> standalone: exact differences, then repair") {
    single.pipeline({{"DEL", "s:1"},
                     {"HSET", "h:2", "a", "changed"},
                     {"SET", "only-target", "1"},
                     {"PERSIST", "s:7"}});
    CHECK(differences_then_repair(cluster.seed_uri(), single.uri(), "c2s") ==
          std::map<std::string, std::string>{
              {"s:1", "missing"}, {"h:2", "value"}, {"only-target", "extra"}, {"s:7", "ttl"}});
  }

  SECTION("standalone -> cluster: exact differences, then repair") {
    cluster.cmd_routed({"DEL", "l:3"});
    cluster.cmd_routed({"ZADD", "z:4", "9", "a"});
    cluster.cmd_routed({"SET", "extra:{tag}", "1"});
    CHECK(differences_then_repair(single.uri(), cluster.seed_uri(), "s2c") ==
          std::map<std::string, std::string>{
              {"l:3", "missing"}, {"z:4", "value"}, {"extra:{tag}", "extra"}});
  }
}

TEST_CASE("cluster: replicate scan cluster -> standalone and standalone -> cluster",
          "[integration][cluster]") {
  t::TestCluster cluster;
  t::TestServer single;
  load(cluster, dataset(80));
  std::string store = tmp_store("repl");
  // A replicate from `from` to `to`, then a compare that finds them equal.
  auto copy_then_compare = [&](const std::string& from, const std::string& to) {
    const auto r = run_migcheck({"replicate", from, to, "--store", store, "--quiet"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(run_migcheck(args({"compare", from, to, "--store", store})).exit_code == 0);
  };
  copy_then_compare(cluster.seed_uri(), single.uri());
  t::TestCluster other;
  copy_then_compare(single.uri(), other.seed_uri());
  // cluster -> cluster, the other way round, agrees too.
  CHECK(run_migcheck(args({"compare", other.seed_uri(), cluster.seed_uri(), "--store", store}))
            .exit_code == 0);
}

TEST_CASE("cluster: a slot migrated while compare runs leaves no false differences",
          "[integration][cluster]") {
  t::TestCluster source;
  t::TestServer target;
  Cmds data;
  // Many keys in one slot (hash tag) so the migration takes a while.
  for (int i = 0; i < 3000; ++i)
    data.push_back({"SET", "{moving}:" + std::to_string(i), std::string(100, 'v')});
  for (int i = 0; i < 3000; ++i) data.push_back({"SET", "other:" + std::to_string(i), "x"});
  load(source, data);
  target.pipeline(data);

  t::TestServer& from = source.node_for_key("{moving}");
  t::TestServer* to = &source.node(0) == &from ? &source.node(1) : &source.node(0);
  const std::string slot = std::to_string(t::key_slot("{moving}"));
  const std::string from_id = from.cmd({"CLUSTER", "MYID"}), to_id = to->cmd({"CLUSTER", "MYID"});

  std::string store = tmp_store("reshard");
  // Slowed by a rate limit, so the whole migration fits inside the compare;
  // the test checks that it did.
  t::Spawned compare(
      {"compare", source.seed_uri(), target.uri(), "--store", store, "--rounds", "3", "--interval",
       "500ms", "--batch", "50", "--scan-count", "50", "--max-ops-per-sec", "2000", "--quiet"},
      store + ".out", store + ".err");
  // The migration starts once compare reads keys (TYPE) from the source.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    long reads = 0;
    for (int i = 0; i < source.size(); ++i) reads += calls(source.node(i), "type");
    if (reads > 0) break;
    REQUIRE(std::chrono::steady_clock::now() < until);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(compare.running());

  to->cmd({"CLUSTER", "SETSLOT", slot, "IMPORTING", from_id});
  from.cmd({"CLUSTER", "SETSLOT", slot, "MIGRATING", to_id});
  for (;;) {
    auto keys = from.reply({"CLUSTER", "GETKEYSINSLOT", slot, "100"});
    if (keys.elements.empty()) break;
    std::vector<std::string> mig = {"MIGRATE", "127.0.0.1", std::to_string(to->port()), "", "0",
                                    "5000",    "KEYS"};
    for (auto& k : keys.elements) mig.push_back(k.str);
    from.cmd(mig);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (int i = 0; i < source.size(); ++i)
    source.node(i).cmd({"CLUSTER", "SETSLOT", slot, "NODE", to_id});
  // The slot moved while compare ran: otherwise this test proves nothing.
  REQUIRE(compare.running());
  const int exit_code = compare.wait();
  INFO(t::slurp(store + ".err"));
  CHECK(exit_code == 0);
}

TEST_CASE("cluster: announced addresses that cannot be reached are named in the error",
          "[integration][cluster]") {
  t::TestCluster cluster;
  // Node 1 announces an address on which nothing listens (another loopback IP).
  cluster.node(1).cmd({"CONFIG", "SET", "cluster-announce-ip", "127.0.0.2"});
  // Wait until the seed sees the new address.
  for (int i = 0; i < 100; ++i) {
    if (cluster.node(0).cmd({"CLUSTER", "NODES"}).find("127.0.0.2") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  t::TestServer target;
  auto r = run_migcheck({"compare", cluster.seed_uri(), target.uri(), "--store", tmp_store("nat"),
                         "--rounds", "1", "--quiet", "--retry-for", "500ms", "--connect-timeout",
                         "500ms"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("127.0.0.2:" + std::to_string(cluster.node(1).port())) != std::string::npos);
  CHECK(r.err.find("announced") != std::string::npos);
}

TEST_CASE("cluster: --read-from replica keeps the reads off the primaries",
          "[integration][cluster]") {
  t::TestCluster cluster;
  // Give every primary a replica.
  std::vector<std::unique_ptr<t::TestServer>> replicas;
  for (int i = 0; i < cluster.size(); ++i) {
    replicas.push_back(std::make_unique<t::TestServer>(t::ServerOptions{.cluster = true}));
    auto& r = *replicas.back();
    r.cmd({"CLUSTER", "MEET", "127.0.0.1", std::to_string(cluster.node(0).port())});
  }
  for (int i = 0; i < cluster.size(); ++i) {
    const std::string id = cluster.node(i).cmd({"CLUSTER", "MYID"});
    for (int attempt = 0;; ++attempt) {
      std::string rep = replicas[i]->cmd({"CLUSTER", "REPLICATE", id});
      if (rep == "OK") break;
      REQUIRE(attempt < 100);  // the replica has not learnt of the primary yet
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  load(cluster, dataset(50));
  t::TestServer target;
  target.pipeline(dataset(50));
  // Wait until every replica has the data and every node sees the replicas.
  for (int attempt = 0;; ++attempt) {
    bool ready = true;
    for (int i = 0; i < cluster.size(); ++i) {
      ready = ready && replicas[i]->cmd({"DBSIZE"}) == cluster.node(i).cmd({"DBSIZE"});
      ready = ready && replicas[i]->cmd({"INFO", "replication"}).find("master_link_status:up") !=
                           std::string::npos;
      ready =
          ready &&
          cluster.node(0).cmd({"CLUSTER", "SHARDS"}).find(std::to_string(replicas[i]->port())) !=
              std::string::npos;
    }
    if (ready) break;
    REQUIRE(attempt < 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::vector<long> primary_scans;
  for (int i = 0; i < cluster.size(); ++i) primary_scans.push_back(calls(cluster.node(i), "type"));
  auto r =
      run_migcheck({"compare", cluster.seed_uri(), target.uri(), "--store", tmp_store("replica"),
                    "--read-from", "replica", "--rounds", "1", "--quiet"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  for (int i = 0; i < cluster.size(); ++i) {
    CHECK(calls(cluster.node(i), "type") == primary_scans[i]);  // no per-key reads on primaries
    CHECK(calls(*replicas[i], "type") > 0);
  }
}

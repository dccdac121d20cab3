// --partition K/N and `migcheck merge` end to end against real servers: N=3
// partitions of a compare on a standalone source and on a 3-master cluster
// give, merged, the unpartitioned run's differences key by key and its
// totals; each partition reads only keys of its slots (on a cluster, only
// their owners); a missing or duplicated partition makes the report NOT
// READY naming it; stores of another job are refused; repair and scan
// replicate take the partition too.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "latest_run.h"
#include "server_fixture.h"
#include "test_util.h"

namespace t = migcheck::test;
using Catch::Matchers::ContainsSubstring;
using t::run_migcheck;
using json = nlohmann::json;

namespace {

using t::Cmds;

Cmds dataset(int n) {
  Cmds c;
  for (int i = 0; i < n; ++i) {
    const std::string k = std::to_string(i);
    c.push_back({"SET", "s:" + k, "v" + k});
    c.push_back({"HSET", "h:" + k, "a", k});
    c.push_back({"RPUSH", "l:" + k, "1", k});
    if (i % 5 == 0) c.push_back({"PEXPIREAT", "s:" + k, "4102444800000"});
  }
  return c;
}

// Drift on the target, spread over the slot space: missing, value, ttl,
// type and extra keys.
Cmds drift() {
  Cmds c;
  for (int i = 0; i < 150; i += 7) c.push_back({"DEL", "s:" + std::to_string(i)});
  for (int i = 3; i < 150; i += 11) c.push_back({"HSET", "h:" + std::to_string(i), "a", "x"});
  for (int i = 0; i < 150; i += 25) c.push_back({"PERSIST", "s:" + std::to_string(i + 5)});
  for (int i = 0; i < 12; ++i) c.push_back({"SET", "extra:" + std::to_string(i), "1"});
  c.push_back({"DEL", "l:4"});
  c.push_back({"SET", "l:4", "not a list"});
  return c;
}

const std::vector<std::string> kFast = {"--rounds", "2", "--interval", "50ms", "--quiet"};

std::vector<std::string> with(std::vector<std::string> a,
                              const std::vector<std::string>& more = kFast) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

// key -> kinds, from `diffs --format jsonl` of the store's latest compare run
// (or of `run`).
std::map<std::string, std::string> diffs(const std::string& store, const std::string& run = "") {
  std::vector<std::string> a = {"diffs", "--store", store, "--format", "jsonl"};
  if (!run.empty()) a.insert(a.end(), {"--run", run});
  auto r = run_migcheck(a);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, std::string> m;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) {
      json j = json::parse(line);
      m[j.value("key", j.value("key_base64", ""))] += j["kind"].get<std::string>() + ";";
    }
  return m;
}

json report(const std::string& store) {
  auto r = run_migcheck({"report", "--store", store, "--format", "json", "--out", "-"});
  INFO(r.err);
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  return json::parse(r.out);
}

json check(const json& rep, const std::string& id) {
  for (const auto& c : rep["checks"])
    if (c["id"] == id) return c;
  return json();
}

json totals_of(const std::string& store, const std::string& run = "") {
  json rep = run.empty() ? report(store) : [&] {
    auto r =
        run_migcheck({"report", "--store", store, "--run", run, "--format", "json", "--out", "-"});
    REQUIRE((r.exit_code == 0 || r.exit_code == 1));
    return json::parse(r.out);
  }();
  return rep["run"]["totals"];
}

std::string part_store(const std::string& name, int k) {
  return t::tmp_store("partition", name + "-" + std::to_string(k));
}

// Runs compare --partition k/3 for k = 1..3 into part_store(name, k).
std::vector<std::string> compare_partitions(const std::string& src, const std::string& dst,
                                            const std::string& name,
                                            const std::vector<std::string>& extra = {}) {
  std::vector<std::string> stores;
  for (int k = 1; k <= 3; ++k) {
    stores.push_back(part_store(name, k));
    auto a = with(
        {"compare", src, dst, "--store", stores.back(), "--partition", std::to_string(k) + "/3"});
    a.insert(a.end(), extra.begin(), extra.end());
    auto r = run_migcheck(a);
    INFO(r.err);
    REQUIRE(r.exit_code == 1);
  }
  return stores;
}

t::ProcessResult merge(const std::string& out, const std::vector<std::string>& in) {
  std::vector<std::string> a = {"merge", "--store", out, "--quiet"};
  a.insert(a.end(), in.begin(), in.end());
  return run_migcheck(a);
}

// Every key of `d` has its slot in partition k/3: [floor((k-1)*16384/3), floor(k*16384/3)).
void require_in_partition(const std::map<std::string, std::string>& d, int k) {
  const int lo = (k - 1) * 16384 / 3, hi = k * 16384 / 3;
  for (const auto& [key, kinds] : d) {
    INFO(key << " slot " << t::key_slot(key));
    CHECK((t::key_slot(key) >= lo && t::key_slot(key) < hi));
  }
}

// The merged run equals the unpartitioned one: differences key by key, the
// keys checked per round and the totals that count keys.
void require_same_as_whole(const std::string& merged, const std::string& whole) {
  const auto want = diffs(whole);
  REQUIRE(want.size() > 20);
  CHECK(diffs(merged) == want);
  t::check_same_key_counts(totals_of(merged), totals_of(whole));
}

}  // namespace

TEST_CASE("partition: N=3 on a standalone source, merged, equals the whole run",
          "[integration][partition]") {
  t::TestServer src, dst;
  src.pipeline(dataset(150));
  dst.pipeline(dataset(150));
  dst.pipeline(drift());
  const std::string whole = t::tmp_store("partition", "whole");
  auto r = run_migcheck(with({"compare", src.uri(), dst.uri(), "--store", whole}));
  REQUIRE(r.exit_code == 1);

  const auto parts = compare_partitions(src.uri(), dst.uri(), "sa");
  int64_t checked = 0, outside = 0;
  for (int k = 1; k <= 3; ++k) {
    require_in_partition(diffs(parts[k - 1]), k);
    const json tot = totals_of(parts[k - 1]);
    // A standalone server is scanned whole; keys of other slots are dropped
    // before any value is read, counted apart and not as checked.
    CHECK(tot["partition"]["index"] == k);
    CHECK(tot["partition"]["count"] == 3);
    checked += tot["keys_checked"].get<int64_t>();
    outside += tot["partition"]["keys_outside"]["source"].get<int64_t>();
    // A partition alone covers a third of the slots: never READY.
    const json rep = report(parts[k - 1]);
    CHECK(rep["verdict"] != "READY");
    CHECK(check(rep, "partitions")["status"] == "fail");
    CHECK_THAT(check(rep, "partitions")["detail"].get<std::string>(),
               ContainsSubstring("partition " + std::to_string(k) + "/3"));
  }
  CHECK(checked == 450);
  CHECK(outside == 2 * 450);

  const std::string merged = t::tmp_store("partition", "sa-merged");
  r = merge(merged, parts);
  INFO(r.err);
  CHECK(r.exit_code == 1);  // the merged run's result: differences
  require_same_as_whole(merged, whole);
  json rep = report(merged);
  CHECK(check(rep, "partitions")["status"] == "pass");
  CHECK(check(rep, "differences")["status"] == "fail");
  CHECK(rep["verdict"] == "NOT_READY");

  SECTION("repair per partition, compare again, merge: READY") {
    for (int k = 1; k <= 3; ++k) {
      // The compare run's partition is the repair's.
      r = run_migcheck(
          {"repair", src.uri(), dst.uri(), "--store", parts[k - 1], "--delete-extra", "--quiet"});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      r = run_migcheck(with({"compare", src.uri(), dst.uri(), "--store", parts[k - 1],
                             "--partition", std::to_string(k) + "/3"}));
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
    }
    const std::string again = t::tmp_store("partition", "sa-merged-again");
    r = merge(again, parts);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    r = run_migcheck({"report", "--store", again, "--format", "json", "--out", "-"});
    INFO(r.out);
    CHECK(r.exit_code == 0);
    CHECK(json::parse(r.out)["verdict"] == "READY");
    r = run_migcheck(with({"compare", src.uri(), dst.uri(), "--store", whole}));
    CHECK(r.exit_code == 0);
  }

  SECTION("a missing partition: NOT READY, named") {
    const std::string m = t::tmp_store("partition", "sa-missing");
    r = merge(m, {parts[0], parts[2]});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, ContainsSubstring("partition 2/3 missing"));
    rep = report(m);
    CHECK(rep["verdict"] == "NOT_READY");
    CHECK(check(rep, "partitions")["status"] == "fail");
    CHECK_THAT(check(rep, "partitions")["detail"].get<std::string>(),
               ContainsSubstring("partition 2/3 missing"));
  }

  SECTION("a duplicated partition: NOT READY, named; its rows once") {
    const std::string m = t::tmp_store("partition", "sa-dup");
    r = merge(m, {parts[0], parts[1], parts[1], parts[2]});
    CHECK(r.exit_code == 2);
    CHECK(diffs(m) == diffs(whole));
    rep = report(m);
    CHECK(rep["verdict"] == "NOT_READY");
    CHECK_THAT(check(rep, "partitions")["detail"].get<std::string>(),
               ContainsSubstring("partition 2/3 given more than once"));
  }

  SECTION("stores of another job are refused") {
    const std::string other = t::tmp_store("partition", "sa-other");
    r = run_migcheck(with({"compare", src.uri(), dst.uri(), "--store", other, "--partition", "2/3",
                           "--ttl-tolerance", "5s"}));
    REQUIRE(r.exit_code == 1);
    const std::string m = t::tmp_store("partition", "sa-refused");
    r = merge(m, {parts[0], other, parts[2]});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, ContainsSubstring("not partitions of one job"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    // Another partition count, another job id.
    r = run_migcheck(
        with({"compare", src.uri(), dst.uri(), "--store", other, "--partition", "2/4"}));
    REQUIRE(r.exit_code == 1);
    r = merge(m, {parts[0], other});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, ContainsSubstring("partition counts"));
    r = run_migcheck(with({"compare", src.uri(), dst.uri(), "--store", other, "--partition", "2/3",
                           "--job-id", "tuesday"}));
    REQUIRE(r.exit_code == 1);
    r = merge(m, {parts[0], other});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, ContainsSubstring("job ids"));
    // A store without a partitioned run.
    r = merge(m, {parts[0], whole});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, ContainsSubstring("holds no partitioned run"));
  }
}

TEST_CASE("partition: N=3 on a 3-master cluster reads only its slots, on their owners",
          "[integration][partition][cluster]") {
  t::TestCluster cluster;
  t::TestServer dst;
  const Cmds data = dataset(150);
  for (const auto& c : data) cluster.cmd_routed(c);
  dst.pipeline(data);
  dst.pipeline(drift());
  const std::string whole = t::tmp_store("partition", "cl-whole");
  auto r = run_migcheck(with({"compare", cluster.seed_uri(), dst.uri(), "--store", whole}));
  INFO(r.err);
  REQUIRE(r.exit_code == 1);

  // Which nodes own a slot of partition 1/3 ([0, 5461)), by port.
  std::set<long long> owner_ports;
  for (const auto& range : cluster.node(0).reply({"CLUSTER", "SLOTS"}).elements)
    if (range.elements.size() >= 3 && range.elements[0].integer < 5461)
      owner_ports.insert(range.elements[2].elements.at(1).integer);
  REQUIRE(!owner_ports.empty());
  const auto reads = [&](int i) {
    const std::string info = cluster.node(i).cmd({"INFO", "commandstats"});
    const std::string needle = "cmdstat_cluster|getkeysinslot:calls=";
    const auto pos = info.find(needle);
    return pos == std::string::npos ? 0L : std::stol(info.substr(pos + needle.size()));
  };
  std::vector<long> before;
  for (int i = 0; i < cluster.size(); ++i) before.push_back(reads(i));

  const auto parts = compare_partitions(cluster.seed_uri(), dst.uri(), "cl");
  for (int k = 1; k <= 3; ++k) require_in_partition(diffs(parts[k - 1]), k);
  const std::string merged = t::tmp_store("partition", "cl-merged");
  r = merge(merged, parts);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  require_same_as_whole(merged, whole);
  // The cluster is read slot by slot: no key of another partition is even
  // listed on the source.
  for (int k = 1; k <= 3; ++k)
    CHECK(totals_of(parts[k - 1])["partition"]["keys_outside"]["source"] == 0);

  // Partition 1/3 alone talks to the owners of slots 0-5460 only.
  for (int i = 0; i < cluster.size(); ++i) before[static_cast<size_t>(i)] = reads(i);
  const std::string one = t::tmp_store("partition", "cl-one");
  r = run_migcheck(
      with({"compare", cluster.seed_uri(), dst.uri(), "--store", one, "--partition", "1/3"}));
  REQUIRE(r.exit_code == 1);
  int owners = 0;
  for (int i = 0; i < cluster.size(); ++i) {
    const bool owns = owner_ports.count(cluster.node(i).port()) > 0;
    owners += owns;
    INFO("node " << i << " port " << cluster.node(i).port() << " owns: " << owns);
    if (owns)
      CHECK(reads(i) > before[static_cast<size_t>(i)]);
    else
      CHECK(reads(i) == before[static_cast<size_t>(i)]);
  }
  CHECK(owners < cluster.size());
}

TEST_CASE("partition: scan replicate and repair by partition", "[integration][partition]") {
  t::TestServer src, dst;
  src.pipeline(dataset(60));
  std::vector<std::string> stores;
  for (int k = 1; k <= 2; ++k) {
    stores.push_back(part_store("repl", k));
    auto r = run_migcheck({"replicate", src.uri(), dst.uri(), "--store", stores.back(),
                           "--partition", std::to_string(k) + "/2", "--quiet"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    if (k == 1) {
      // Half the slots copied: the target holds exactly the keys of slots [0, 8192).
      for (const auto& key : t::keys_of(dst)) CHECK(t::key_slot(key) < 8192);
    }
  }
  CHECK(t::keys_of(dst).size() == t::keys_of(src).size());
  const std::string merged = t::tmp_store("partition", "repl-merged");
  auto r = merge(merged, stores);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const json tot = totals_of(merged);
  CHECK(tot["keys_scanned"] == 180);
  CHECK(tot["copied"] == 180);

  // Repair: a partition other than the compare run's is refused.
  const std::string cmp = part_store("repair", 1);
  dst.cmd({"DEL", "s:1"});
  r = run_migcheck(with({"compare", src.uri(), dst.uri(), "--store", cmp, "--partition",
                         std::to_string(t::key_slot("s:1") < 8192 ? 1 : 2) + "/2"}));
  REQUIRE(r.exit_code == 1);
  const std::string wrong = t::key_slot("s:1") < 8192 ? "2/2" : "1/2";
  r = run_migcheck({"repair", src.uri(), dst.uri(), "--store", cmp, "--partition", wrong});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("covers partition"));
  // A repair of a whole compare run, limited to a partition, repairs only its keys.
  const std::string full = t::tmp_store("partition", "repair-full");
  dst.cmd({"DEL", "h:1", "h:2", "h:3", "h:4", "h:5", "h:6"});
  r = run_migcheck(with({"compare", src.uri(), dst.uri(), "--store", full}));
  REQUIRE(r.exit_code == 1);
  r = run_migcheck(
      {"repair", src.uri(), dst.uri(), "--store", full, "--partition", "1/2", "--quiet"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  for (const std::string key : {"s:1", "h:1", "h:2", "h:3", "h:4", "h:5", "h:6"})
    CHECK(dst.cmd({"EXISTS", key}) == (t::key_slot(key) < 8192 ? "1" : "0"));
}

TEST_CASE("partition: bad --partition and modes that cannot take it exit 2 with one line",
          "[integration][partition][cli]") {
  t::TestServer src, dst;
  const std::string store = t::tmp_store("partition", "bad");
  for (const auto& extra :
       std::vector<std::vector<std::string>>{{"--partition", "0/3"},
                                             {"--partition", "4/3"},
                                             {"--partition", "x"},
                                             {"--partition", "1/16385"},
                                             {"--job-id", "j"},
                                             {"--partition", "1/2", "--sample", "10"}}) {
    std::vector<std::string> a = {"compare", src.uri(), dst.uri(), "--store", store};
    a.insert(a.end(), extra.begin(), extra.end());
    auto r = run_migcheck(a);
    INFO(extra.front() << " " << extra.back() << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  for (const char* mode : {"live", "liveonly"}) {
    auto r = run_migcheck({"replicate", src.uri(), dst.uri(), "--store", store, "--mode", mode,
                           "--partition", "1/2"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, ContainsSubstring("--mode scan only"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

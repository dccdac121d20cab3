// Tests of `compare dump.rdb TARGET --sample N` (compare/snapshot_sample.h):
// the reservoir alone (seeded: exact sizes, membership, uniformity), then
// files written by a real server (SAVE) compared with real targets: N keys
// per db, only real differences, a different draw each run from all over the
// file, the totals, options and report of a sample as the live compare's,
// --sample covering the file as a whole compare, and the CLI's refusals.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "cli_runner.h"
#include "compare.h"
#include "errors.h"
#include "noncopyable.h"
#include "rdb_source.h"
#include "server_fixture.h"
#include "snapshot_compare.h"
#include "snapshot_fixture.h"
#include "snapshot_resume.h"
#include "snapshot_sample.h"
#include "store.h"

using namespace migcheck;
using namespace migcheck::test;

namespace {

std::vector<int> offered(Reservoir<int>& r, int n) {
  for (int i = 0; i < n; ++i) r.offer(i);
  return r.items();
}

}  // namespace

TEST_CASE("reservoir: keeps everything up to its capacity, then exactly capacity items",
          "[snapshot_sample]") {
  Reservoir<int> small(10, 1);
  CHECK(offered(small, 7) == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
  CHECK(small.holds_all());
  CHECK(small.seen() == 7);

  Reservoir<int> big(10, 1);
  std::vector<int> held = offered(big, 1000);
  CHECK(!big.holds_all());
  CHECK(big.seen() == 1000);
  REQUIRE(held.size() == 10);
  std::set<int> distinct(held.begin(), held.end());
  CHECK(distinct.size() == 10);
  CHECK(*distinct.rbegin() < 1000);
  // Not the first ten: later items replaced some.
  CHECK(*distinct.rbegin() >= 10);

  // The same seed draws the same sample; another seed another one.
  Reservoir<int> again(10, 1), other(10, 2);
  CHECK(offered(again, 1000) == held);
  CHECK(offered(other, 1000) != held);
}

TEST_CASE("reservoir: every item is held with the same probability", "[snapshot_sample]") {
  // 20 items, 5 kept: each with probability 1/4. Over 4000 seeded draws each
  // item's count is 1000 with a standard deviation of about 27.
  std::map<int, int> count;
  for (uint64_t seed = 0; seed < 4000; ++seed) {
    Reservoir<int> r(5, seed);
    for (int i : offered(r, 20)) ++count[i];
  }
  REQUIRE(count.size() == 20);
  for (auto& [item, n] : count) {
    INFO("item " << item);
    CHECK(n > 850);
    CHECK(n < 1150);
  }
}

TEST_CASE("file key sample: a reservoir per db", "[snapshot_sample]") {
  FileKeySample s(3, 7);
  for (int i = 0; i < 50; ++i) {
    RdbKeyState k;
    k.db = i < 40 ? 0 : 5;
    k.key = "k" + std::to_string(i);
    s.offer(k);
  }
  std::map<int, std::set<std::string>> got;
  CHECK(s.yield_keys([&](const RdbKeyState& k) { got[k.db].insert(k.key); }));
  CHECK(got[0].size() == 3);
  CHECK(got[5].size() == 3);
  for (const auto& k : got[5]) CHECK(std::stoi(k.substr(1)) >= 40);

  // Every key of every db kept: not a sample.
  FileKeySample all(100, 7);
  for (int i = 0; i < 50; ++i) {
    RdbKeyState k;
    k.db = i % 2;
    all.offer(k);
  }
  size_t n = 0;
  CHECK(!all.yield_keys([&](const RdbKeyState&) { ++n; }));
  CHECK(all.holds_all());
  CHECK(n == 50);
}

TEST_CASE("snapshot compare options: --sample is recorded and read back on --resume",
          "[snapshot_sample]") {
  SnapshotCompareOptions o;
  o.source_file = "/tmp/x.rdb";
  o.base.sample = 30;
  ResumableRun run;
  run.record.id = 4;
  run.options = snapshot_compare_options_json(o);
  CHECK(run.options["sample"] == 30);
  SnapshotCompareOptions back;
  // Given again, --sample is the run's (and said to be ignored); --batch,
  // a speed flag, is the command line's and recorded so.
  back.base.sample = 5;
  back.base.batch = 7;
  CHECK(apply_recorded_snapshot_compare(run, {"--batch", "--sample"}, back) ==
        std::vector<std::string>{"--sample"});
  CHECK(back.base.sample == 30);
  CHECK(back.base.batch == 7);
  CHECK(run.options["batch"] == 7);
  CHECK(back.base.resume_run == 4);
}

namespace {

std::string tmp(const std::string& name) {
  return snapshot_tmp("snapsample", name);
}

constexpr int kDb0Keys = 300, kDb2Keys = 40;

std::string key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k:%03d", i);
  return buf;
}

// db 0: 300 keys of several types; db 2: 40 strings.
void fill(TestServer& s) {
  std::vector<std::vector<std::string>> c;
  for (int i = 0; i < kDb0Keys; ++i) {
    if (i % 3 == 0)
      c.push_back({"SET", key(i), "v" + std::to_string(i)});
    else if (i % 3 == 1)
      c.push_back({"RPUSH", key(i), "a", std::to_string(i)});
    else
      c.push_back({"HSET", key(i), "f", std::to_string(i)});
  }
  c.push_back({"SELECT", "2"});
  for (int i = 0; i < kDb2Keys; ++i) c.push_back({"SET", "d2:" + std::to_string(i), "x"});
  c.push_back({"SELECT", "0"});
  s.pipeline(c);
}

SnapshotCompareOptions options(const std::string& file, TestServer& target, uint64_t sample) {
  SnapshotCompareOptions o = snap_options(file, target);
  o.base.sample = sample;
  return o;
}

std::map<int, int64_t> keys_per_db(const CompareResult& r) {
  std::map<int, int64_t> m;
  for (const auto& d : r.databases) m[d.dbs.source] = d.keys_checked;
  return m;
}

// A source filled by fill() and its file, and a target with the same data
// and known differences: 7 in db 0 (value, missing, ttl, type, extra), 1 in db 2.
struct SampledPair : NonCopyable {
  TestServer source, target;
  std::string file;
  explicit SampledPair(const std::string& name) {
    fill(source);
    fill(target);
    target.pipeline({{"SET", key(0), "changed"},
                     {"DEL", key(1)},
                     {"HSET", key(2), "f", "changed"},
                     {"EXPIRE", key(3), "3600"},
                     {"DEL", key(150)},
                     {"SET", key(150), "now a string"},
                     {"SET", key(299), "changed"},
                     {"SET", "extra:0", "only on the target"},
                     {"SELECT", "2"},
                     {"SET", "d2:7", "changed"}});
    file = save_snapshot(source, tmp(name) + ".rdb");
  }
  ~SampledPair() { std::filesystem::remove(file); }
};

const Rows kDiffs = {{0, "k:000", "value"},   {0, "k:001", "missing"}, {0, "k:002", "value"},
                     {0, "k:003", "ttl"},     {0, "k:150", "value"},   {0, "k:299", "type"},
                     {0, "extra:0", "extra"}, {2, "d2:7", "value"}};

}  // namespace

TEST_CASE("snapshot compare --sample: n keys per db, only real differences, a sample's records",
          "[snapshot_sample][integration]") {
  SampledPair pair("diffs");
  Store store(tmp("diffs.db"));

  // The whole compare, for reference.
  SnapshotCompareResult full = run_snapshot_compare(options(pair.file, pair.target, 0), store);
  REQUIRE(rows(store, full.compare.run_id) == kDiffs);

  // --sample as large as the file: every key, as a whole compare.
  SnapshotCompareResult whole =
      run_snapshot_compare(options(pair.file, pair.target, kDb0Keys + kDb2Keys), store);
  CHECK(!whole.sampled);
  CHECK(rows(store, whole.compare.run_id) == kDiffs);
  CHECK(whole.compare.keys_checked == kDb0Keys + kDb2Keys);
  CHECK(totals(store, whole.compare.run_id)["sampled"] == false);

  // --sample 30 < the keys of each db: 30 per db, every difference a real one.
  for (int run = 0; run < 3; ++run) {
    SnapshotCompareOptions o = options(pair.file, pair.target, 30);
    o.base.rounds = 2;
    SnapshotCompareResult r = run_snapshot_compare(o, store);
    const int64_t id = r.compare.run_id;
    CHECK(r.sampled);
    CHECK(keys_per_db(r.compare) == std::map<int, int64_t>{{0, 30}, {2, 30}});
    CHECK(r.compare.rounds.front().keys_checked == 60);
    const Rows found = rows(store, id, 1);
    for (const auto& row : found) {
      INFO(std::get<1>(row));
      CHECK(kDiffs.count(row) == 1);
    }
    // Round 2 re-checks the sampled differing keys on the target only.
    CHECK(rows(store, id, 2) == found);
    if (!found.empty()) CHECK(r.compare.rounds.size() == 2);
    // Totals and options as the live compare's sample records them.
    const auto j = totals(store, id);
    CHECK(j["sampled"] == true);
    CHECK(j["keys_checked"] == 60);
    CHECK(nlohmann::json::parse(store.run(id)->options_json)["sample"] == 30);
    // The target is sampled too (RANDOMKEY), as live: 30 per db looked up.
    CHECK(r.compare.target_keys_scanned == 60);
  }

  // --db, --match and --type narrow what is drawn from.
  SnapshotCompareOptions o = options(pair.file, pair.target, 5);
  o.db = 2;
  o.target_db = 2;
  SnapshotCompareResult r = run_snapshot_compare(o, store);
  CHECK(keys_per_db(r.compare) == std::map<int, int64_t>{{2, 5}});
  o = options(pair.file, pair.target, 10);
  o.base.match = "k:1*";
  o.base.types = {"list"};
  r = run_snapshot_compare(o, store);
  CHECK(r.compare.keys_checked == 10);
  CHECK(r.compare.keys_by_type == std::map<std::string, int64_t>{{"list", 10}});
}

TEST_CASE("snapshot compare --sample: a different draw each run, from all over the file",
          "[snapshot_sample][integration]") {
  // An empty target: every sampled key is a "missing" row, so the rows are the sample.
  TestServer source, target;
  fill(source);
  // Expired before the run: counted, never drawn.
  std::vector<std::vector<std::string>> gone;
  for (int i = 0; i < 20; ++i)
    gone.push_back({"SET", "gone:" + std::to_string(i), "v", "PX", "300"});
  source.pipeline(gone);
  const std::string file = save_snapshot(source, tmp("draw") + ".rdb");
  std::this_thread::sleep_for(std::chrono::milliseconds(800));

  // The file's keys of db 0 in its order.
  std::vector<std::string> order;
  RdbSourceOptions so;
  so.db = 0;
  read_rdb_source(file, so, [&](const RdbKeyState& k) { order.push_back(k.key); });
  REQUIRE(order.size() == kDb0Keys + 20);
  std::erase_if(order, [](const std::string& k) { return k.starts_with("gone:"); });
  const std::set<std::string> first(order.begin(), order.begin() + 20);
  const std::set<std::string> last_quarter(order.end() - kDb0Keys / 4, order.end());

  Store store(tmp("draw.db"));
  std::vector<std::set<std::string>> draws;
  std::set<std::string> all;
  for (int run = 0; run < 3; ++run) {
    SnapshotCompareOptions o = options(file, target, 20);
    o.db = 0;
    o.target_db = 0;
    SnapshotCompareResult r = run_snapshot_compare(o, store);
    CHECK(r.expired_skipped == 20);
    std::set<std::string> drawn;
    for (const auto& [db, k, kind] : rows(store, r.compare.run_id)) {
      CHECK(db == 0);
      CHECK(kind == "missing");
      CHECK(!k.starts_with("gone:"));
      drawn.insert(k);
    }
    CHECK(drawn.size() == 20);
    CHECK(drawn != first);
    all.insert(drawn.begin(), drawn.end());
    draws.push_back(std::move(drawn));
  }
  CHECK((draws[0] != draws[1] || draws[0] != draws[2]));
  CHECK(all.size() > 20);
  CHECK(std::any_of(all.begin(), all.end(), [&](const auto& k) { return last_quarter.count(k); }));
  std::filesystem::remove(file);
}

TEST_CASE("snapshot compare --sample: the CLI, the summary and the report as live's",
          "[snapshot_sample][integration]") {
  TestServer source, target;
  fill(source);
  fill(target);
  const std::string file = save_snapshot(source, tmp("cli") + ".rdb");
  const std::string store = tmp("cli.db");

  // A sample finding nothing: exit 0 as live, "[sample]", but the report
  // cannot vouch for the whole keyspace: INCOMPLETE, exit 1.
  auto c = run_migcheck({"compare", file, target.uri(), "--store", store, "--sample", "25"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  CHECK(c.out.find("Keys checked in round 1: 50 ") != std::string::npos);
  CHECK(c.out.find("[sample]") != std::string::npos);
  auto rep = run_migcheck({"report", "--store", store, "--format", "json", "--out", "-"});
  INFO(rep.err);
  CHECK(rep.exit_code == 1);
  const auto report = nlohmann::json::parse(rep.out);
  CHECK(report["verdict"] == "INCOMPLETE");
  CHECK(report.dump().find("--sample") != std::string::npos);

  // The live compare of the same pair records the same.
  auto live =
      run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--sample", "25"});
  INFO(live.out << live.err);
  CHECK(live.exit_code == 0);
  rep = run_migcheck({"report", "--store", store, "--format", "json", "--out", "-"});
  CHECK(rep.exit_code == 1);
  CHECK(nlohmann::json::parse(rep.out)["verdict"] == "INCOMPLETE");

  // --sample covering the file: a whole compare, READY.
  c = run_migcheck({"compare", file, target.uri(), "--store", store, "--sample", "1000"});
  CHECK(c.exit_code == 0);
  CHECK(c.out.find("[sample]") == std::string::npos);
  rep = run_migcheck({"report", "--store", store, "--format", "json", "--out", "-"});
  CHECK(rep.exit_code == 0);
  CHECK(nlohmann::json::parse(rep.out)["verdict"] == "READY");

  // Two files: one line, exit 2.
  c = run_migcheck({"compare", file, "file://" + file, "--store", store, "--sample", "5"});
  CHECK(c.exit_code == 2);
  CHECK(std::count(c.err.begin(), c.err.end(), '\n') == 1);
  CHECK(c.err.find("--sample") != std::string::npos);
  std::filesystem::remove(file);
}

TEST_CASE("snapshot compare --sample: stopped between rounds, resumed as a sample",
          "[snapshot_sample][resume][integration]") {
  // An empty target: every sampled key differs (missing), so round 2 comes.
  TestServer source, target;
  fill(source);
  const std::string file = save_snapshot(source, tmp("resume") + ".rdb");
  const std::string path = tmp("resume.db");
  Store store(path);
  std::atomic<bool> stop{false};
  SnapshotCompareOptions o = options(file, target, 30);
  o.base.rounds = 3;
  o.base.interval = Millis(1000);
  o.base.stop = &stop;
  // Stopped in the wait before round 2, once round 1 is recorded.
  std::thread stopper([&] {
    Store watch(path, false);
    while (watch.rounds(1).empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = true;
  });
  CHECK_THROWS_AS(run_snapshot_compare(o, store), Interrupted);
  stopper.join();
  REQUIRE(store.rounds(1).size() == 1);
  const Rows first = rows(store, 1, 1);
  CHECK(first.size() == 60);

  SnapshotCompareOptions again = options(file, target, 0);
  ResumableRun run{*store.run(1), nlohmann::json::parse(store.run(1)->options_json)};
  apply_recorded_snapshot_compare(run, {}, again);
  CHECK(again.base.sample == 30);
  SnapshotCompareResult r = run_snapshot_compare(again, store);
  CHECK(r.sampled);
  CHECK(r.compare.rounds.size() == 3);
  CHECK(rows(store, 1, 3) == first);  // the sample's keys re-checked, no others
  CHECK(keys_per_db(r.compare) == std::map<int, int64_t>{{0, 30}, {2, 30}});
  CHECK(totals(store, 1)["sampled"] == true);
  std::filesystem::remove(file);
}

// Integration tests of resumable compare runs: SIGINT checkpoints and exits 2,
// `--resume RUN` continues and ends with the totals of an uninterrupted run.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "server_fixture.h"
#include "store.h"
#include "test_util.h"

using namespace migcheck;
using migcheck::test::run_migcheck;
using migcheck::test::Spawned;
using migcheck::test::TestServer;

namespace {

using migcheck::test::poll_int;
using migcheck::test::remove_store;
using migcheck::test::slurp;
using migcheck::test::stored_run;

std::string tmp_path(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("migcheck-resume-" + name + "-" + std::to_string(::getpid()));
  remove_store(p.string());
  return p.string();
}

// `migcheck compare SOURCE TARGET --store STORE`, then `extra`, then `common`.
std::vector<std::string> compare_args(const TestServer& source, const TestServer& target,
                                      const std::string& store,
                                      const std::vector<std::string>& common,
                                      std::vector<std::string> extra = {"-q"}) {
  std::vector<std::string> args{"compare", source.uri(), target.uri(), "--store", store};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), common.begin(), common.end());
  return args;
}

// An uninterrupted compare with `common` into the store `name`, which finds
// differences: the run a resumed one must match. Returns the store's path.
std::string full_run(const TestServer& source, const TestServer& target, const std::string& name,
                     const std::vector<std::string>& common) {
  const std::string store = tmp_path(name);
  auto full = run_migcheck(compare_args(source, target, store, common));
  INFO(full.err);
  REQUIRE(full.exit_code == 1);
  return store;
}

// The checkpoint of run 1 of `store`, stopped with `status`.
nlohmann::json stopped_checkpoint(const std::string& store, const std::string& status) {
  CHECK(stored_run(store, 1).status == status);
  auto cp = Store(store, false).checkpoint(1, "compare");
  REQUIRE(cp);
  return nlohmann::json::parse(*cp);
}

// Run 1 of `store` is done, and is the store's only run.
void check_done_alone(const std::string& store) {
  CHECK(stored_run(store, 1).status == "done");
  CHECK(Store(store, false).runs().size() == 1);
}

// (key, kind, round) rows of `diffs --format jsonl` for every round of a run.
std::multiset<std::string> diff_rows(const std::string& store, int64_t run, int rounds) {
  std::multiset<std::string> rows;
  for (int round = 1; round <= rounds; ++round) {
    auto r = run_migcheck({"diffs", "--store", store, "--run", std::to_string(run), "--round",
                           std::to_string(round), "--format", "jsonl"});
    REQUIRE(r.exit_code <= 1);
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line);
      rows.insert(std::to_string(round) + " " + j.value("kind", "") + " " + j["key"].dump());
    }
  }
  return rows;
}

struct Totals {
  std::vector<std::pair<int64_t, int64_t>> rounds;  // (keys checked, differences)
  bool operator==(const Totals&) const = default;
};

Totals totals(const std::string& store_path, int64_t run) {
  Store store(store_path, false);
  Totals t;
  for (const auto& r : store.rounds(run)) t.rounds.emplace_back(r.keys_checked, r.differences);
  return t;
}

void load(TestServer& source, TestServer& target) {
  constexpr int kKeys = 30000;
  source.pipeline(migcheck::test::numbered_keys(kKeys));
  target.pipeline(migcheck::test::numbered_keys(kKeys));
  // A few differences of each kind, spread over the keyspace.
  target.pipeline({{"DEL", "k:17", "k:9001", "k:23456"},
                   {"SET", "k:42", "changed"},
                   {"SET", "k:15000", "changed"},
                   {"SET", "only:target:1", "x"},
                   {"SET", "only:target:2", "y"}});
  source.pipeline({{"EXPIRE", "k:777", "100000"}, {"EXPIRE", "k:29999", "100000"}});
}

// The flags of a compare of load()'s keys in two rounds, at `max_ops` keys a
// second (slow enough to be stopped mid-round).
std::vector<std::string> two_rounds(const std::string& max_ops) {
  return {"--rounds",      "2", "--interval", "100ms", "--max-ops-per-sec", max_ops,
          "--connections", "3", "--batch",    "200",   "--scan-count",      "300"};
}

// Waits until run 1 of `store` has stored a difference of `round`.
bool wait_for_round_rows(const std::string& store, int round, std::chrono::seconds timeout) {
  const std::string sql =
      "SELECT count(*) FROM differences WHERE run = 1 AND round = " + std::to_string(round);
  return migcheck::test::wait_until([&] { return poll_int(store, sql) > 0; }, timeout);
}

// The totals of run 1 that do not depend on timing or on which process read
// what: counts by type and kind, rounds, big keys.
nlohmann::json stable_totals(const std::string& store_path) {
  auto j = nlohmann::json::parse(stored_run(store_path, 1).totals_json);
  for (const char* k : {"elapsed_ms", "keys_per_sec", "source_reader", "target_reader"}) j.erase(k);
  for (auto& r : j["rounds"]) r.erase("elapsed_ms");
  return j;
}

// Differences that persist across rounds: 4,000 changed values, 3 missing
// keys, 2 extra keys, and 4 of 12 big lists (30 elements; read in chunks
// with --chunk 10) with an element more on the target.
void load_persistent(TestServer& source, TestServer& target) {
  for (int base = 0; base < 12000; base += 1000) {
    std::vector<std::string> mset{"MSET"}, changed{"MSET"};
    for (int i = base; i < base + 1000; ++i) {
      mset.push_back("k:" + std::to_string(i));
      mset.push_back("v" + std::to_string(i));
      if (i % 3 == 0) {
        changed.push_back("k:" + std::to_string(i));
        changed.push_back("changed");
      }
    }
    source.pipeline({mset});
    target.pipeline({mset, changed});
  }
  for (int b = 0; b < 12; ++b) {
    std::vector<std::string> rpush{"RPUSH", "big:" + std::to_string(b)};
    for (int i = 0; i < 30; ++i) rpush.push_back(std::to_string(i));
    source.pipeline({rpush});
    target.pipeline({rpush});
    if (b < 4) target.pipeline({{"RPUSH", "big:" + std::to_string(b), "more"}});
  }
  target.pipeline({{"DEL", "k:1", "k:5002", "k:11999"},
                   {"SET", "only:target:1", "x"},
                   {"SET", "only:target:2", "y"}});
}

}  // namespace

TEST_CASE(
    "resume: a compare interrupted in round 1 and again in round 2 ends as an uninterrupted run",
    "[resume][integration]") {
  TestServer source;
  TestServer target;
  load_persistent(source, target);
  const std::vector<std::string> common{"--rounds",          "3",     "--interval",    "100ms",
                                        "--max-ops-per-sec", "15000", "--connections", "3",
                                        "--batch",           "100",   "--scan-count",  "200",
                                        "--chunk",           "10"};
  constexpr int64_t kDiffs = 4000 + 3 + 2 + 4;

  const std::string full_store = full_run(source, target, "rounds-full.db", common);
  const Totals want = totals(full_store, 1);
  REQUIRE(want.rounds.size() == 3);
  CHECK(want.rounds[0] == std::pair<int64_t, int64_t>{12012, kDiffs});
  CHECK(want.rounds[1].second == kDiffs);
  CHECK(want.rounds[2].second == kDiffs);
  const nlohmann::json want_totals = stable_totals(full_store);
  CHECK(want_totals["big_keys"]["count"] == 12);
  CHECK(want_totals["big_keys"]["keys"].size() == 12);

  const std::string store = tmp_path("rounds.db");
  const std::string out = tmp_path("rounds-out.txt"), err = tmp_path("rounds-err.txt");
  // Stopped in round 1 with part of it stored, then, resumed, in round 2.
  auto args = compare_args(source, target, store, common);
  int64_t round1_ms = -1;  // round 1's elapsed, known once it is over
  for (int round : {1, 2}) {
    INFO("interrupted in round " << round);
    Spawned proc(args, out, err);
    const bool reached = wait_for_round_rows(store, round, std::chrono::seconds(60));
    proc.signal(SIGINT);
    const int code = proc.wait(std::chrono::seconds(60));
    const std::string stderr_text = slurp(err);
    INFO(stderr_text);
    REQUIRE(reached);
    REQUIRE(code == 2);
    const nlohmann::json j = stopped_checkpoint(store, "interrupted");
    REQUIRE(j.value("round", 0) == round);
    CHECK(j.value("keys_checked", int64_t{0}) > 0);
    CHECK(j.value("keys_checked", int64_t{0}) < (round == 1 ? 12012 : kDiffs));
    if (round == 2)
      round1_ms = nlohmann::json::parse(stored_run(store, 1).totals_json)["rounds"][0]["elapsed_ms"]
                      .get<int64_t>();
    args = {"compare", source.uri(), target.uri(), "--store", store, "-q", "--resume", "1"};
  }

  auto resumed = run_migcheck(args);
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 1);
  check_done_alone(store);
  CHECK(totals(store, 1) == want);
  CHECK(diff_rows(store, 1, 3) == diff_rows(full_store, 1, 3));
  CHECK(stable_totals(store) == want_totals);
  {
    // Round 1 ran in two processes: resumed again, it keeps its whole
    // elapsed time, and so does the run.
    auto j = nlohmann::json::parse(stored_run(store, 1).totals_json);
    CHECK(round1_ms > 0);
    CHECK(j["rounds"][0]["elapsed_ms"] == round1_ms);
    CHECK(j["elapsed_ms"].get<int64_t>() >= round1_ms);
  }

  for (const auto& p : {full_store, store, out, err}) remove_store(p);
}

TEST_CASE("resume: an interrupted compare resumed ends with the totals of an uninterrupted run",
          "[resume][integration]") {
  TestServer source;
  TestServer target;
  load(source, target);
  const std::vector<std::string> common = two_rounds("40000");

  const std::string full_store = full_run(source, target, "full.db", common);

  const std::string store = tmp_path("resumed.db");
  const std::string out = tmp_path("out.txt"), err = tmp_path("err.txt");
  Spawned proc(compare_args(source, target, store, common), out, err);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  proc.signal(SIGINT);
  const int code = proc.wait(std::chrono::seconds(60));
  const std::string stderr_text = slurp(err);
  INFO(stderr_text);
  REQUIRE(code == 2);
  CHECK(stderr_text.find("interrupted, resume with `migcheck compare --resume 1 SOURCE TARGET`") !=
        std::string::npos);
  {
    // Stopped mid-way through round 1, with part of it committed.
    const nlohmann::json j = stopped_checkpoint(store, "interrupted");
    CHECK(j.value("round", 0) == 1);
    CHECK(j.value("keys_checked", int64_t{0}) > 0);
    CHECK(j.value("keys_checked", int64_t{0}) < 30000);
  }

  // Resumed with other options on the command line: the run's own are used.
  // While it runs, a second resume of the same run is refused and changes
  // nothing: one process writes a run.
  {
    Spawned resumed({"compare", source.uri(), target.uri(), "--store", store, "-q", "--resume", "1",
                     "--rounds", "1"},
                    out, err);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (poll_int(store, "SELECT status = 'running' FROM runs WHERE id = 1") != 1 &&
           std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto second = run_migcheck(
        {"compare", source.uri(), target.uri(), "--store", store, "-q", "--resume", "1"});
    CHECK(second.exit_code == 2);
    CHECK(second.err ==
          "error: cannot resume run 1: run 1 is in use by another migcheck process; stop it "
          "(Ctrl-C) or wait for it to end\n");
    const int resumed_code = resumed.wait(std::chrono::seconds(60));
    INFO(slurp(err));
    REQUIRE(resumed_code == 1);
    CHECK(slurp(err).find("--rounds is ignored") != std::string::npos);
  }
  check_done_alone(store);
  const Totals want = totals(full_store, 1);
  REQUIRE(want.rounds.size() == 2);
  CHECK(want.rounds[0].first == 30000);
  CHECK(want.rounds[0].second == 9);
  CHECK(totals(store, 1) == want);
  CHECK(diff_rows(store, 1, 2) == diff_rows(full_store, 1, 2));

  // A finished run, a missing run and a run of another store are refused.
  auto again =
      run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--resume", "1"});
  CHECK(again.exit_code == 2);
  CHECK(again.err.find("finished") != std::string::npos);
  auto missing =
      run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--resume", "7"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("no such run") != std::string::npos);
  CHECK(totals(store, 1) == want);

  for (const auto& p : {full_store, store, out, err}) remove_store(p);
}

TEST_CASE("resume: a run of another command is refused", "[resume][integration]") {
  const std::string store = tmp_path("other.db");
  {
    Store s(store, true);
    RunRecord rec;
    rec.command = "repair";
    const int64_t id = s.begin_run(rec);
    s.finish_run(id, "interrupted", 2);
  }
  TestServer server;
  auto r = run_migcheck({"compare", server.uri(), server.uri(), "--store", store, "--resume", "1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("not a compare run") != std::string::npos);
  remove_store(store);
}

TEST_CASE("resume: a compare that failed on a lost server is left resumable",
          "[resume][integration]") {
  TestServer source;
  // Keeps its data across kill -9 (AOF, fsync always).
  TestServer target(
      migcheck::test::ServerOptions{.config = {{"appendonly", "yes"}, {"appendfsync", "always"}}});
  load(source, target);
  const std::vector<std::string> common = two_rounds("15000");

  const std::string full_store = full_run(source, target, "failed-full.db", common);

  const std::string store = tmp_path("failed.db");
  const std::string out = tmp_path("failed-out.txt"), err = tmp_path("failed-err.txt");
  auto args = compare_args(source, target, store, common,
                           {"--retry-for", "300ms", "--connect-timeout", "300ms"});
  {
    Spawned proc(args, out, err);
    const bool reached = wait_for_round_rows(store, 1, std::chrono::seconds(60));
    target.kill9();
    const int code = proc.wait(std::chrono::seconds(60));
    const std::string stderr_text = slurp(err);
    INFO(stderr_text);
    REQUIRE(reached);
    REQUIRE(code == 2);
    CHECK(stderr_text.find("continue it with `migcheck compare --resume 1 SOURCE TARGET`") !=
          std::string::npos);
    CHECK(stored_run(store, 1).status == "failed");
  }
  target.restart();

  auto resumed = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "-q", "--resume", "1"});
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 1);
  CHECK(stored_run(store, 1).status == "done");
  CHECK(totals(store, 1) == totals(full_store, 1));
  CHECK(diff_rows(store, 1, 2) == diff_rows(full_store, 1, 2));

  for (const auto& p : {full_store, store, out, err}) remove_store(p);
}

// Tests of the run lifecycle (src/run.h): a run begun and finished as
// recorded, a resume that claims the run and takes its checkpoint and
// run_ids back, the checkpoint throttle, the stop token, an end that cannot
// be recorded never throwing, and the server facts' checks against real servers.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "errors.h"
#include "run.h"
#include "server_fixture.h"
#include "stop_token.h"
#include "store.h"
#include "test_util.h"
#include "uri.h"

using namespace migcheck;
using namespace std::chrono_literals;

namespace {

std::string temp_store(const std::string& name) {
  return migcheck::test::tmp_store("run", name);
}

}  // namespace

TEST_CASE("run: begun, checkpointed and finished as recorded", "[run]") {
  const std::string path = temp_store("begin");
  Store store(path);
  Run run(store, "compare");
  RunRecord rec;
  rec.source = "a";
  rec.target = "b";
  const int64_t id = run.begin(rec);
  CHECK(id == run.id());
  CHECK(store.run(id)->command == "compare");
  CHECK(store.run(id)->status == "running");
  CHECK_FALSE(run.checkpointed());
  CHECK_FALSE(run.has_stored_checkpoint());
  run.save_checkpoint({{"round", 2}});
  CHECK(run.checkpointed());
  CHECK(run.has_stored_checkpoint());
  CHECK(nlohmann::json::parse(*store.checkpoint(id, "compare"))["round"] == 2);
  run.finish("done", 1, {{"keys_checked", 7}});
  auto r = store.run(id);
  CHECK(r->status == "done");
  CHECK(r->exit_code == 1);
  CHECK(nlohmann::json::parse(r->totals_json)["keys_checked"] == 7);
  std::filesystem::remove(path);
}

TEST_CASE("run: a resume claims the run and takes back its checkpoint and run_ids", "[run]") {
  const std::string path = temp_store("resume");
  int64_t id = 0;
  {
    Store store(path);
    Run run(store, "repair");
    id = run.begin(RunRecord{});
    run.watch().observe("127.0.0.1:1", "aaaa");
    run.save_checkpoint({{"after_id", 41}, {"run_ids", run.watch().to_json()}});
    store.finish_run(id, "interrupted", 2);
  }
  Store store(path);
  Run run(store, "repair");
  nlohmann::json cp = run.resume(id);
  CHECK(run.id() == id);
  CHECK(cp["after_id"] == 41);
  CHECK(run.checkpointed());
  // The saved run_id came back: the same server under a new run_id restarted.
  CHECK_FALSE(run.watch().observe("127.0.0.1:1", "aaaa"));
  CHECK(run.watch().observe("127.0.0.1:1", "bbbb"));
  // The watch is the one wired into the run's client options.
  ClientOptions base;
  CHECK(run.client_options(base).watch == run.shared_watch());
  CHECK(base.watch == nullptr);
  run.reopened();
  CHECK(store.run(id)->status == "running");
  // One writer per run: another Store cannot resume it meanwhile.
  Store other(path);
  Run second(other, "repair");
  CHECK_THROWS_AS(second.resume(id), UsageError);
  // Checked as resumable_run checks: a run of another command is refused.
  Run wrong(other, "compare");
  CHECK_THROWS_AS(wrong.resume(id, true), UsageError);
  std::filesystem::remove(path);
}

TEST_CASE("run: checkpoints are due every kCheckpointEvery", "[run]") {
  const std::string path = temp_store("throttle");
  Store store(path);
  Run run(store, "replicate");
  run.begin(RunRecord{});
  CHECK_FALSE(run.checkpoint_due());
  std::this_thread::sleep_for(kCheckpointEvery + 100ms);
  CHECK(run.checkpoint_due());
  run.save_checkpoint(nlohmann::json::object());
  CHECK_FALSE(run.checkpoint_due());
  std::filesystem::remove(path);
}

TEST_CASE("run: the stop token ends loops and wakes a sleeper at once", "[run]") {
  const std::string path = temp_store("stop");
  Store store(path);
  std::atomic<bool> signal{false};
  Run run(store, "compare", &signal);
  CHECK_FALSE(run.stopping());
  signal = true;
  CHECK(run.stop_requested());
  CHECK(run.stopping());
  CHECK_FALSE(run.aborted());
  signal = false;
  std::thread aborter([&] {
    std::this_thread::sleep_for(100ms);
    run.abort();
  });
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(stop_token::wait_for(30s, run.stop_flag()));
  // Woken by abort() itself, not by the wait's polling.
  CHECK(std::chrono::steady_clock::now() - t0 < 100ms + stop_token::kPoll);
  aborter.join();
  CHECK(run.stopping());
  run.clear_abort();
  CHECK_FALSE(run.stopping());
  std::filesystem::remove(path);
}

TEST_CASE("run: an end that cannot be recorded is a warning, never an exception", "[run]") {
  const std::string path = temp_store("end");
  Store store(path);
  Run run(store, "compare");
  const int64_t id = run.begin(RunRecord{});
  bool advised = false;
  CHECK_NOTHROW(run.end_abnormally(
      "failed", []() -> nlohmann::json { throw StoreError("disk full"); },
      [&] { return advised = true; }));
  CHECK_FALSE(advised);  // nothing recorded, no advice
  CHECK(store.run(id)->status == "running");
  run.end_abnormally(
      "interrupted",
      [] {
        return nlohmann::json{{"keys_checked", 3}};
      },
      [] { return false; });
  CHECK(store.run(id)->status == "interrupted");
  CHECK(store.run(id)->exit_code == 2);
  std::filesystem::remove(path);
}

TEST_CASE("run: server facts, recorded with the run, and their checks", "[run][integration]") {
  test::TestServer redis;
  const std::string path = temp_store("facts");
  Store store(path);
  Run run(store, "compare");
  const int64_t id = run.begin(RunRecord{});
  Client a(parse_uri(redis.uri()), ClientOptions{}), b(parse_uri(redis.uri()), ClientOptions{});
  const RunServers servers = RunServers::gather(a, b);
  run.record_servers(servers);
  auto rec = store.run(id);
  CHECK(nlohmann::json::parse(rec->source_info_json)["version"] == servers.source.version);
  // redis-server 7.0 keeps the stream counters.
  CHECK(servers.stream_extended());
  RunServers old = servers;
  old.target.engine = "redis";
  old.target.version = "6.2.14";
  CHECK_FALSE(old.stream_extended());
  old.target.engine = "valkey";  // every Valkey keeps them
  CHECK(old.stream_extended());
  CHECK(describe_server(servers.source).starts_with("redis 7."));
  std::filesystem::remove(path);
}

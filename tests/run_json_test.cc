// `--json` on compare, repair and replicate (src/run_json.cc,
// src/run_output.cc): one JSON object on stdout, with the figures the store
// holds, end to end against real servers.
#include "run_json.h"

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>

#include "cli_runner.h"
#include "key_cmds.h"
#include "server_fixture.h"
#include "store.h"

using namespace migcheck;
using migcheck::test::run_migcheck;
using migcheck::test::TestServer;

namespace {

nlohmann::json only_json(const std::string& out) {
  // Exactly one line, and it is the whole object.
  REQUIRE(std::count(out.begin(), out.end(), '\n') == 1);
  return nlohmann::json::parse(out);
}

}  // namespace

TEST_CASE("run_json: compare, repair and replicate --json print the stored summary",
          "[integration]") {
  TestServer source, target;
  const auto keys = migcheck::test::set_cmds("k", 50);
  source.pipeline(keys);
  target.pipeline(keys);
  target.cmd({"SET", "k1", "changed"});
  target.cmd({"DEL", "k2"});
  target.cmd({"SET", "extra", "x"});
  const auto store = (std::filesystem::temp_directory_path() /
                      ("migcheck-runjson-" + std::to_string(::getpid()) + ".db"))
                         .string();
  std::filesystem::remove(store);

  auto r = run_migcheck({"compare", "--json", "--rounds", "2", "--interval", "10ms", "--store",
                         store, source.uri(), target.uri()});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  auto j = only_json(r.out);
  CHECK(j["command"] == "compare");
  CHECK(j["exit_code"] == 1);
  CHECK(j["status"] == "done");
  CHECK(j["totals"]["keys_checked"] == 50);
  CHECK(j["differences_by_kind"] == nlohmann::json{{"extra", 1}, {"missing", 1}, {"value", 1}});
  CHECK(j["rounds"].size() == 2);
  CHECK(j["rounds"][1]["differences"] == 3);
  const int64_t compare_run = j["run"];
  {
    // The same figures as the store.
    Store s(store, false);
    CHECK(j == run_summary_json(s, compare_run));
  }

  r = run_migcheck(
      {"repair", "--json", "--delete-extra", "--store", store, source.uri(), target.uri()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  j = only_json(r.out);
  CHECK(j["command"] == "repair");
  CHECK(j["parent"] == compare_run);
  CHECK(j["outcomes"] == nlohmann::json{{"repaired", 3}});  // the extra key deleted too
  CHECK(j["totals"]["deleted"] == 1);

  TestServer empty;
  r = run_migcheck({"replicate", "--json", "--store", store, source.uri(), empty.uri()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  j = only_json(r.out);
  CHECK(j["command"] == "replicate");
  CHECK(j["totals"]["copied"] == 50);
  CHECK(empty.cmd({"DBSIZE"}) == "50");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(store + suffix);
}

TEST_CASE("run_json: a run that fails prints one JSON error object, without the password",
          "[integration]") {
  // Port 1 on loopback refuses at once: the run fails with exit 2 after the
  // command line was parsed, so --json is known.
  for (const std::string command : {"compare", "repair", "replicate"}) {
    auto r =
        run_migcheck({command, "--json", "--retry-for", "0s", "--store", "/nonexistent-dir/x.db",
                      "redis://:sekret-pw@127.0.0.1:1", "redis://127.0.0.1:1"});
    INFO(command << ": " << r.err);
    CHECK(r.exit_code == 2);
    auto j = only_json(r.out);
    CHECK(j["command"] == command);
    CHECK(j["exit_code"] == 2);
    CHECK(j["status"] == "failed");
    CHECK_FALSE(j["error"].get<std::string>().empty());
    CHECK(r.out.find("sekret-pw") == std::string::npos);
    CHECK(r.err.find("sekret-pw") == std::string::npos);
  }
  // Without --json, stdout stays empty.
  auto r =
      run_migcheck({"compare", "--retry-for", "0s", "redis://127.0.0.1:1", "redis://127.0.0.1:1"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
}

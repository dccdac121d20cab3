// Passwords from the environment (src/env_secrets.h): taken once, gone from
// the environment and from /proc/PID/environ while migcheck runs.
#include "env_secrets.h"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "cli_runner.h"
#include "server_fixture.h"
#include "test_util.h"

using migcheck::env_secret;
using migcheck::take_env_secrets;
using migcheck::test::Spawned;
using migcheck::test::TestServer;

namespace {

using migcheck::test::slurp;

}  // namespace

TEST_CASE("env secrets: taken values leave the environment", "[env_secrets]") {
  ::setenv("MIGCHECK_TARGET_PASS", "t0p-secret-value", 1);
  const auto taken = take_env_secrets();
  CHECK(std::getenv("MIGCHECK_TARGET_PASS") == nullptr);
  CHECK(env_secret("MIGCHECK_TARGET_PASS") == std::optional<std::string>("t0p-secret-value"));
  REQUIRE(taken.size() == 1);
  CHECK(taken[0] == "t0p-secret-value");
  CHECK_FALSE(env_secret("MIGCHECK_SOURCE_PASS").has_value());
}

TEST_CASE("env secrets: the password is not in /proc/PID/environ during a run", "[env_secrets]") {
  const std::string pw = "env-pass-3f9a1c";
  TestServer source({.password = pw}), target({.password = pw});
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < 200; ++i) sets.push_back({"SET", "k" + std::to_string(i), "v"});
  source.pipeline(sets);
  const auto dir = std::filesystem::temp_directory_path();
  const std::string store = (dir / ("migcheck-env-" + std::to_string(::getpid()) + ".db")).string();
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(store + s);
  ::setenv("MIGCHECK_SOURCE_PASS", pw.c_str(), 1);
  ::setenv("MIGCHECK_TARGET_PASS", pw.c_str(), 1);
  Spawned run({"compare", source.uri(), target.uri(), "--store", store, "--max-ops-per-sec", "20",
               "--batch", "10"},
              store + ".out", store + ".err");
  ::unsetenv("MIGCHECK_SOURCE_PASS");
  ::unsetenv("MIGCHECK_TARGET_PASS");
  // Once migcheck has authenticated to the target, it has read the variables.
  bool connected = false;
  for (int i = 0; i < 400 && !connected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    connected = target.cmd({"CLIENT", "LIST"}).find("name=migcheck") != std::string::npos;
  }
  REQUIRE(connected);
  std::string env_block;
  // The pid is not exposed: find the migcheck child whose environ we may read.
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::stoi(name) == ::getpid()) continue;
    const std::string cmdline = slurp(e.path().string() + "/cmdline");
    if (cmdline.find(store) == std::string::npos) continue;
    env_block = slurp(e.path().string() + "/environ");
    CHECK(env_block.find("PATH=") != std::string::npos);  // it was read
    CHECK(env_block.find(pw) == std::string::npos);
  }
  CHECK_FALSE(env_block.empty());
  run.signal(SIGKILL);
  run.wait();
}

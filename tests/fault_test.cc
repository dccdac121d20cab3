// Fault tolerance and hostile input, end to end: a target killed and
// restarted mid-compare and mid-replicate, source connections killed
// mid-run, foreign and newer store files, and secrets that must never be
// written anywhere.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "cli_runner.h"
#include "server_fixture.h"

namespace t = migcheck::test;
namespace fs = std::filesystem;
using t::run_migcheck;
using namespace std::string_literals;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("migcheck-fault-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void load(t::TestServer& s, int n) {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < n; ++i) {
    std::string k = std::to_string(i);
    cmds.push_back({"SET", "s:" + k, std::string(50, 'a' + i % 26)});
    if (i % 5 == 0) cmds.push_back({"HSET", "h:" + k, "f", k, "g", "x"});
    if (i % 7 == 0) cmds.push_back({"ZADD", "z:" + k, "1.25", "m", k, "n"});
  }
  s.pipeline(cmds);
}

// A target that keeps its data across kill -9 (AOF, fsync always).
t::ServerOptions durable() {
  return t::ServerOptions{.config = {{"appendonly", "yes"}, {"appendfsync", "always"}}};
}

}  // namespace

TEST_CASE("fault: target killed and restarted mid-compare gives the undisturbed result",
          "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(durable());
  load(source, 20000);
  load(target, 20000);
  target.cmd({"DEL", "s:17"});  // one real difference
  auto dir = temp_dir("compare-kill");
  // Slow enough (--max-ops-per-sec) that the kill lands mid-run.
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"compare", source.uri(), target.uri(), "--store", (dir / "s.db").string(),
                         "--rounds", "2", "--interval", "100ms", "--max-ops-per-sec", "40000",
                         "--retry-for", "20s", "--quiet"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  target.kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  target.restart();
  auto r = run.get();
  INFO(r.err);
  CHECK(r.exit_code == 1);
  auto d = run_migcheck({"diffs", "--store", (dir / "s.db").string(), "--format", "jsonl"});
  REQUIRE(std::count(d.out.begin(), d.out.end(), '\n') == 1);
  auto j = nlohmann::json::parse(d.out);
  CHECK(j["key"] == "s:17");
  CHECK(j["kind"] == "missing");
}

TEST_CASE("fault: source connections killed mid-compare change nothing", "[integration][fault]") {
  t::TestServer source;
  t::TestServer target;
  load(source, 20000);
  load(target, 20000);
  auto dir = temp_dir("client-kill");
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"compare", source.uri(), target.uri(), "--store", (dir / "s.db").string(),
                         "--rounds", "1", "--max-ops-per-sec", "40000", "--quiet"});
  });
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    source.cmd({"CLIENT", "KILL", "TYPE", "normal"});
    target.cmd({"CLIENT", "KILL", "TYPE", "normal"});
  }
  auto r = run.get();
  INFO(r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("fault: target killed and restarted mid-replicate still converges",
          "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(durable());
  load(source, 20000);
  auto dir = temp_dir("replicate-kill");
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"replicate", source.uri(), target.uri(), "--store", (dir / "s.db").string(),
                         "--max-ops-per-sec", "40000", "--retry-for", "20s", "--quiet"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  target.kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  target.restart();
  auto r = run.get();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(source.debug_digest() == target.debug_digest());
}

TEST_CASE("fault: a store that is not ours is refused and left untouched", "[integration][fault]") {
  t::TestServer a, b;
  auto dir = temp_dir("store");
  fs::path junk = dir / "junk.db";
  std::ofstream(junk, std::ios::binary) << "this is not an SQLite file\n"s + std::string(5000, '\x07');
  const std::string before = slurp(junk);
  auto r = run_migcheck({"compare", a.uri(), b.uri(), "--store", junk.string(), "--quiet"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is not a migcheck store") != std::string::npos);
  CHECK(slurp(junk) == before);
  for (const char* cmd : {"diffs", "report"}) {
    auto d = run_migcheck({cmd, "--store", junk.string()});
    CHECK(d.exit_code == 2);
    CHECK(slurp(junk) == before);
  }
  auto missing = run_migcheck({"diffs", "--store", (dir / "nope.db").string()});
  CHECK(missing.exit_code == 2);
  CHECK_FALSE(fs::exists(dir / "nope.db"));
  auto unwritable = run_migcheck({"compare", a.uri(), b.uri(), "--store", "/proc/migcheck.db", "--quiet"});
  CHECK(unwritable.exit_code == 2);
  CHECK(std::count(unwritable.err.begin(), unwritable.err.end(), '\n') == 1);
}

TEST_CASE("fault: passwords never reach output, store, reports or the process title",
          "[integration][fault]") {
  const std::string secret = "Zq9-very-secret-pw";
  t::TestServer source(t::ServerOptions{.password = secret});
  t::TestServer target(t::ServerOptions{.acl_users = {"mover on >" + secret + " ~* +@all"}});
  load(source, 300);
  load(target, 300);
  target.cmd({"DEL", "s:3"});
  auto dir = temp_dir("secrets");
  const std::string store = (dir / "s.db").string();
  std::string src = "redis://:" + secret + "@127.0.0.1:" + std::to_string(source.port());
  std::string dst = "redis://127.0.0.1:" + std::to_string(target.port());

  // While compare runs, its /proc/PID/cmdline must not show the password.
  std::string cmdline_seen;
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"compare", src, dst, "--target-user", "mover", "--target-pass", secret,
                         "--store", store, "--rounds", "3", "--interval", "700ms"});
  });
  for (int i = 0; i < 40 && cmdline_seen.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (auto& e : fs::directory_iterator("/proc")) {
      std::string c = slurp(e.path() / "cmdline");
      if (c.find("compare") != std::string::npos && c.find(store) != std::string::npos) cmdline_seen = c;
    }
  }
  auto r = run.get();
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  CHECK_FALSE(cmdline_seen.empty());
  CHECK(cmdline_seen.find(secret) == std::string::npos);

  std::string everything = r.out + r.err;
  auto repair = run_migcheck({"repair", src, dst, "--target-user", "mover", "--store", store},
                             {{"MIGCHECK_TARGET_PASS", secret}});
  everything += repair.out + repair.err;
  auto bad = run_migcheck({"compare", "redis://:wrong-" + secret + "@127.0.0.1:" + std::to_string(source.port()),
                           dst, "--store", store});
  CHECK(bad.exit_code == 2);
  everything += bad.out + bad.err;
  auto rep = run_migcheck({"report", "--store", store, "--out", dir.string()});
  everything += rep.out + rep.err;
  auto diffs = run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  everything += diffs.out + diffs.err;
  for (auto& e : fs::directory_iterator(dir)) everything += slurp(e.path());
  CHECK(everything.find(secret) == std::string::npos);
}

// A store damaged under a run (src/store_health.h): truncated, or written
// after a failure, the run says so (exit 2) and gives no advice that cannot
// work; readers open a store they cannot write, and refusals name the cause.
#include "store_health.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_exception.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "cli_runner.h"
#include "errors.h"
#include "key_cmds.h"
#include "resume.h"
#include "server_fixture.h"
#include "store.h"
#include "test_util.h"

namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::MessageMatches;
using namespace migcheck;
using namespace migcheck::test;

namespace {

// Runs migcheck as an unprivileged user when the tests run as root (root
// writes anywhere), so a directory without write permission means it.
migcheck::test::ProcessResult run_unprivileged(std::vector<std::string> args,
                                               const std::string& out_dir) {
  args.insert(args.begin(), MIGCHECK_BINARY);
  const std::string base = out_dir + "-unprivileged-" + std::to_string(::getpid());
  const std::string out = base + ".out", err = base + ".err";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (o < 0 || e < 0) ::_exit(127);
    ::dup2(o, 1);
    ::dup2(e, 2);
    if (::getuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(126);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  migcheck::test::ProcessResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

}  // namespace

TEST_CASE("store health: a store truncated under a run stops it and is not resumable",
          "[store_health]") {
  const std::string path = tmp_store("health", "truncated");
  Store s(path);
  const int64_t id = begin_test_run(s);
  std::vector<migcheck::Difference> diffs(2000);
  for (size_t i = 0; i < diffs.size(); ++i) {
    diffs[i].round = 1;
    diffs[i].key = "key:" + std::to_string(i);
    diffs[i].kind = "value";
    diffs[i].detail = std::string(200, 'x');
  }
  s.add_differences(id, diffs);
  s.put_checkpoint(id, "compare", "{}");
  REQUIRE(fs::file_size(path) > 4096);
  CHECK_FALSE(s.damage());
  fs::resize_file(path, 4096);
  CHECK_THROWS_MATCHES(s.put_checkpoint(id, "compare", "{}"), StoreError,
                       MessageMatches(ContainsSubstring("was truncated while the run")));
  CHECK(s.damage());
  CHECK_THROWS_AS(s.finish_run(id, "done", 0), StoreError);
  REQUIRE(migcheck::store_damage());
  CHECK_THAT(migcheck::resume_hint("compare", id), ContainsSubstring("cannot be resumed"));
  CHECK_THAT(migcheck::resume_hint("compare", id), !ContainsSubstring("--resume"));
}

TEST_CASE("store health: a store deleted under a run is damage", "[store_health]") {
  const std::string path = tmp_store("health", "deleted");
  Store s(path);
  const int64_t id = begin_test_run(s);
  fs::remove(path);
  CHECK_THROWS_MATCHES(s.set_totals(id, "{}"), StoreError,
                       MessageMatches(ContainsSubstring("was deleted while the run")));
}

namespace {

// Runs `args` (a slow replicate or compare into `store`), truncates the
// store once the run has checkpointed, and returns (exit code, stderr).
std::pair<int, std::string> truncate_under(std::vector<std::string> args,
                                           const std::string& store) {
  Spawned run(args, store + ".out", store + ".err");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    std::error_code ec;
    if (fs::exists(store + "-wal", ec) && fs::file_size(store, ec) > 4096) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // a checkpoint is written
  fs::resize_file(store, 4096);
  const int code = run.wait(std::chrono::seconds(120));
  return {code, slurp(store + ".err")};
}

}  // namespace

TEST_CASE("store health: replicate and compare into a store truncated mid-run exit 2",
          "[store_health]") {
  TestServer source, target;
  source.pipeline(migcheck::test::set_cmds("k:", 600));
  // `command` into a store truncated under it: exit 2, and no advice to
  // resume from a store that is gone; its stderr.
  auto truncated_run = [&](const std::string& command) {
    const std::string store = tmp_store("health", command + "-run");
    auto [code, err] = truncate_under({command, source.uri(), target.uri(), "--store", store,
                                       "--max-ops-per-sec", "100", "--batch", "20", "-q"},
                                      store);
    INFO(err);
    CHECK(code == 2);
    CHECK_THAT(err, !ContainsSubstring("--resume"));
    return err;
  };
  SECTION("replicate") {
    CHECK_THAT(truncated_run("replicate"), ContainsSubstring("truncated"));
  }
  SECTION("compare") {
    truncated_run("compare");
  }
}

TEST_CASE("store health: a store in a directory that cannot be written", "[store_health]") {
  TestServer source, target;
  source.cmd({"SET", "a", "1"});
  const fs::path dir = fs::temp_directory_path() / ("migcheck-ro-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string store = (dir / "runs.db").string();
  auto made = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "-q"});
  REQUIRE(made.exit_code == 1);
  // Readable by anyone, writable by nobody but root (whom the runs drop).
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  if (::getuid() != 0) fs::permissions(dir, fs::perms::owner_write, fs::perm_options::remove);
  fs::permissions(store, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                             fs::perms::others_read);

  auto diffs = run_unprivileged({"diffs", "--store", store}, dir.string());
  INFO(diffs.err);
  CHECK(diffs.exit_code == 0);
  CHECK_THAT(diffs.out, ContainsSubstring("1 difference"));
  auto report = run_unprivileged({"report", "--store", store, "--format", "json", "--out", "-"},
                                 dir.string());
  INFO(report.err);
  CHECK(report.exit_code == 1);  // NOT READY: the run found a difference
  CHECK_THAT(report.out, ContainsSubstring("\"run\""));

  auto fresh = run_unprivileged(
      {"compare", source.uri(), target.uri(), "--store", (dir / "new.db").string(), "-q"},
      dir.string());
  INFO(fresh.err);
  CHECK(fresh.exit_code == 2);
  CHECK_THAT(fresh.err, ContainsSubstring("cannot create it: Permission denied"));
  CHECK_THAT(fresh.err, !ContainsSubstring("No such file"));

  auto write = run_unprivileged({"compare", source.uri(), target.uri(), "--store", store, "-q"},
                                dir.string());
  INFO(write.err);
  CHECK(write.exit_code == 2);
  CHECK_THAT(write.err, ContainsSubstring("not writable"));
  fs::permissions(dir, fs::perms::owner_all);
  fs::remove_all(dir);
}

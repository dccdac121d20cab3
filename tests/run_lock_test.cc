// Run claims (src/run_lock.h) and the Store's use of them: one writer per
// run, across objects and processes; a dead process's claim is gone at once.
#include "run_lock.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_exception.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>
#include <string>

#include "errors.h"
#include "store.h"
#include "test_util.h"

namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::MessageMatches;
using migcheck::RunLocks;
using migcheck::Store;
using migcheck::UsageError;

namespace {

using migcheck::test::begin_test_run;

std::string temp_store(const std::string& name) {
  const std::string p = migcheck::test::tmp_store("run-lock", name);
  std::filesystem::remove(p + "-lock");
  return p;
}

void touch(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  std::fclose(f);
}

}  // namespace

TEST_CASE("run lock: one holder per run; released claims can be taken", "[run_lock]") {
  const std::string store = temp_store("unit");
  touch(store);
  RunLocks a(store), b(store);
  a.claim(1);
  a.claim(1);  // again: no-op
  a.claim(2);
  CHECK_THROWS_MATCHES(b.claim(1), UsageError,
                       MessageMatches(ContainsSubstring("run 1 is in use by another migcheck")));
  b.claim(3);  // other runs are free
  a.release(1);
  b.claim(1);
  CHECK_THROWS_AS(a.claim(1), UsageError);
  CHECK_THROWS_AS(a.claim(3), UsageError);
  // The claims live on the store file itself, which they never write.
  CHECK_FALSE(fs::exists(store + "-lock"));
  CHECK(fs::file_size(store) == 0);
}

TEST_CASE("run lock: a store claims the runs it begins until they finish", "[run_lock]") {
  const std::string path = temp_store("store");
  Store writer(path), other(path);
  const int64_t id = begin_test_run(writer);
  CHECK_THROWS_MATCHES(other.claim_run(id), UsageError,
                       MessageMatches(ContainsSubstring("in use by another migcheck process")));
  const int64_t second = begin_test_run(other);  // concurrent runs of one store are fine
  CHECK(second != id);
  CHECK_THROWS_AS(writer.claim_run(second), UsageError);
  writer.finish_run(id, "interrupted", 2);
  other.claim_run(id);
  CHECK_THROWS_AS(writer.claim_run(id), UsageError);
}

TEST_CASE("run lock: a claim dies with its process", "[run_lock]") {
  const std::string path = temp_store("process");
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  touch(path);
  if (child == 0) {
    RunLocks mine(path);
    mine.claim(7);
    char c = 1;
    if (::write(ready[1], &c, 1) != 1) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  RunLocks parent(path);
  CHECK_FALSE(parent.is_free(7));
  CHECK(parent.is_free(8));
  CHECK_THROWS_AS(parent.claim(7), UsageError);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(parent.is_free(7));
  parent.claim(7);
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_CASE("run lock: a symlink or a hard link to the store is the same store", "[run_lock]") {
  const std::string path = temp_store("identity");
  const std::string sym = path + ".sym", hard = path + ".hard";
  fs::remove(sym);
  fs::remove(hard);
  Store writer(path);
  const int64_t id = begin_test_run(writer);
  fs::create_symlink(path, sym);
  fs::create_hard_link(path, hard);
  Store via_link(sym), via_hard_link(hard);
  CHECK_THROWS_MATCHES(via_link.claim_run(id), UsageError,
                       MessageMatches(ContainsSubstring("in use by another migcheck process")));
  CHECK_THROWS_AS(via_hard_link.claim_run(id), UsageError);
  writer.finish_run(id, "interrupted", 2);
  via_link.claim_run(id);
  CHECK_THROWS_AS(via_hard_link.claim_run(id), UsageError);
  fs::remove(sym);
  fs::remove(hard);
}

TEST_CASE("run lock: no file is created through a planted -lock symlink", "[run_lock]") {
  const std::string path = temp_store("planted");
  const std::string victim = path + ".victim";
  fs::remove(victim);
  fs::create_symlink(victim, path + "-lock");
  {
    Store writer(path);
    const int64_t id = begin_test_run(writer);
    writer.finish_run(id, "done", 0);
  }
  CHECK_FALSE(fs::exists(victim));
  fs::remove(path + "-lock");
}

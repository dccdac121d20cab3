// Integration tests of `--resume` with a snapshot file source
// (compare/snapshot_resume.h): a snapshot compare stopped by SIGINT in its
// file's stream, killed (SIGKILL) between checkpoints, and stopped between
// rounds ends with the same difference rows and totals as a run that was
// never stopped (nothing counted twice); a resume whose file changed, whose
// target is another server or another db is refused, for the snapshot
// compare and the snapshot replicate; the snapshot replicate records the
// file's keys per db as its source's facts.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <tuple>

#include "cli_runner.h"
#include "latest_run.h"
#include "server_fixture.h"
#include "store.h"

using migcheck::Difference;
using migcheck::Store;
using migcheck::test::run_migcheck;
using migcheck::test::Spawned;
using migcheck::test::TestServer;

namespace {

using migcheck::test::Cmds;
using Rows = std::multiset<std::tuple<int, int, std::string, std::string>>;  // round, db, key, kind

std::string tmp(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("migcheck-snapresume-" + name + "-" + std::to_string(::getpid()));
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + suffix);
  return p.string();
}

// `n` string keys in db 0 and a few of db 2 on the source (saved to a file);
// the target holds the same but for changed values, missing keys and extras
// spread over the key space.
struct Pair {
  TestServer source, target;
  std::string file;
  Pair(int n, const std::string& name) {
    Cmds s, t;
    for (int i = 0; i < n; ++i) {
      const std::string k = "key:" + std::to_string(i), v = "value-" + std::to_string(i);
      s.push_back({"SET", k, v});
      if (i % 997 == 0) continue;                                   // missing
      t.push_back({"SET", k, i % 1009 == 5 ? v + "-changed" : v});  // value
    }
    for (int i = 0; i < 25; ++i) t.push_back({"SET", "extra:" + std::to_string(i), "x"});
    for (const auto& c :
         Cmds{{"SELECT", "2"}, {"HSET", "h", "f", "v"}, {"SADD", "set", "a"}, {"SELECT", "0"}}) {
      s.push_back(c);
      t.push_back(c);
    }
    t.push_back({"SELECT", "2"});
    t.push_back({"SADD", "set", "b"});
    source.pipeline(s);
    target.pipeline(t);
    source.cmd({"SAVE"});
    file = tmp(name) + ".rdb";
    std::filesystem::copy_file(source.dir() + "/dump.rdb", file,
                               std::filesystem::copy_options::overwrite_existing);
  }
  ~Pair() { std::filesystem::remove(file); }
};

Rows rows(Store& store, int64_t run) {
  Rows out;
  for (int round : {1, 2, 3}) {
    migcheck::DifferenceFilter f;
    f.round = round;
    store.for_each_difference(run, f, [&](const Difference& d) {
      out.insert({d.round, d.db, d.key, d.kind});
    });
  }
  return out;
}

nlohmann::json totals(Store& store, int64_t run) {
  return nlohmann::json::parse(store.run(run)->totals_json);
}

// What must be equal between a run never stopped and a resumed one.
void check_same_run(Store& clean, int64_t clean_id, Store& resumed, int64_t resumed_id) {
  const auto a = totals(clean, clean_id), b = totals(resumed, resumed_id);
  CHECK(resumed.run(resumed_id)->status == "done");
  CHECK(b["snapshot"]["expired_skipped"] == a["snapshot"]["expired_skipped"]);
  migcheck::test::check_same_key_counts(b, a);
  CHECK(rows(resumed, resumed_id) == rows(clean, clean_id));
}

// A compare never stopped, for reference: its store, run id and the target
// commands it took.
struct Clean {
  std::string store_path;
  int64_t run = 0;
  long long commands = 0;
};
Clean clean_run(Pair& p, const std::string& name, const std::vector<std::string>& extra) {
  Clean c{tmp(name + "-clean.db")};
  const long long before = p.target.commands_called();
  std::vector<std::string> args = {"compare", p.file,       p.target.uri(),
                                   "--store", c.store_path, "-q"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto res = run_migcheck(args);
  INFO(res.out << res.err);
  REQUIRE(res.exit_code == 1);
  c.commands = p.target.commands_called() - before;
  Store store(c.store_path, false);
  c.run = store.latest_run("compare")->id;
  return c;
}

// One compare test's data, reference run and store.
struct Case {
  Pair p;
  std::vector<std::string> opts;
  Clean clean;
  std::string store_path;
  Case(int n, const std::string& name, std::vector<std::string> o)
      : p(n, name),
        opts(std::move(o)),
        clean(clean_run(p, name, opts)),
        store_path(tmp(name + ".db")) {}
};

// Resumes run `id` of `c` to its end, with `more` flags: the same as the
// reference run. Returns its stderr.
std::string resume_and_check(Case& c, int64_t id, const std::vector<std::string>& more = {}) {
  std::vector<std::string> args = {"compare",        "--resume", std::to_string(id), c.p.file,
                                   c.p.target.uri(), "--store",  c.store_path,       "-q"};
  args.insert(args.end(), more.begin(), more.end());
  auto res = run_migcheck(args);
  INFO(res.out << res.err);
  CHECK(res.exit_code == 1);
  Store clean_store(c.clean.store_path, false), store(c.store_path, false);
  check_same_run(clean_store, c.clean.run, store, id);
  return res.err;
}

// Starts the compare, stops it with `sig` once it has sent `fraction` of a
// clean run's target commands (and after `min_wait`), and returns its run id.
int64_t stopped_run(Pair& p, const std::string& store_path, const Clean& clean, int sig,
                    double fraction, std::chrono::milliseconds min_wait,
                    const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"compare", p.file, p.target.uri(), "--store", store_path};
  args.insert(args.end(), extra.begin(), extra.end());
  const long long before = p.target.commands_called();
  const auto t0 = std::chrono::steady_clock::now();
  Spawned run(args, store_path + ".out", store_path + ".err");
  while (run.running() &&
         (p.target.commands_called() - before <
              static_cast<long long>(fraction * static_cast<double>(clean.commands)) ||
          std::chrono::steady_clock::now() - t0 < min_wait))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(run.running());  // stopped midway, not after its end
  run.signal(sig);
  CHECK(run.wait(std::chrono::seconds(60)) == (sig == SIGKILL ? 128 + SIGKILL : 2));
  Store store(store_path, false);
  auto r = store.latest_run("compare");
  REQUIRE(r);
  return r->id;
}

}  // namespace

TEST_CASE("snapshot compare --resume: stopped by SIGINT in the stream, refusals, then resumed",
          "[snapshot][resume][integration]") {
  Case c(40000, "sigint", {"--rounds", "2", "--interval", "10ms"});
  auto& [p, opts, clean, store_path] = c;
  std::vector<std::string> slow = opts;
  for (const char* a : {"--batch", "2", "--connections", "1"}) slow.push_back(a);
  const int64_t id = stopped_run(p, store_path, clean, SIGINT, 0.3, {}, slow);
  {
    Store store(store_path, false);
    CHECK(store.run(id)->status == "interrupted");
    const auto t = totals(store, id);
    CHECK(t["rounds"].empty());  // stopped in round 1
  }
  const std::string run = std::to_string(id);
  auto resume = [&](const std::string& target, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"compare", "--resume", run,        p.file,
                                     target,    "--store",  store_path, "-q"};
    args.insert(args.end(), more.begin(), more.end());
    return run_migcheck(args);
  };

  // Another target server, another target db, a changed file: refused with
  // one line, the run left resumable.
  TestServer other;
  auto res = resume(other.uri());
  CHECK(res.exit_code == 2);
  CHECK(res.err.find("is another server") != std::string::npos);
  res = resume(p.target.uri() + "/3");
  CHECK(res.exit_code == 2);
  CHECK(res.err.find("target db") != std::string::npos);
  res = resume(p.target.uri(), {"--db", "2"});
  CHECK(res.exit_code == 2);
  const auto mtime = std::filesystem::last_write_time(p.file);
  std::filesystem::last_write_time(p.file, mtime + std::chrono::hours(1));
  res = resume(p.target.uri());
  CHECK(res.exit_code == 2);
  CHECK(res.err.find("is not the file the run was reading") != std::string::npos);
  std::filesystem::last_write_time(p.file, mtime);

  // Options given again are the run's (said so), as on a live resume, but
  // speed and load flags take effect and are recorded.
  const std::string err = resume_and_check(c, id, {"--batch", "50", "--match", "nothing:*"});
  CHECK(err.find("--match is ignored: resumed run " + run) != std::string::npos);
  {
    Store store(store_path, false);
    const auto o = nlohmann::json::parse(store.run(id)->options_json);
    CHECK(o["batch"] == 50);
    CHECK(o["connections"] == 1);
    CHECK(o["match"] == "");
  }
  // A finished run is not resumed again.
  CHECK(resume(p.target.uri()).exit_code == 2);
}

TEST_CASE("snapshot compare --resume: killed (SIGKILL) between checkpoints, counted once",
          "[snapshot][resume][integration]") {
  Case c(60000, "kill", {});
  auto& [p, opts, clean, store_path] = c;
  // One key per round trip: the run outlives its first periodic checkpoint
  // (every 2 s), and rows stored after the last one are dropped on resume.
  const int64_t id =
      stopped_run(p, store_path, clean, SIGKILL, 0.4, std::chrono::milliseconds(2500),
                  {"--batch", "1", "--connections", "2", "-q"});
  resume_and_check(c, id);
}

TEST_CASE("snapshot compare --resume: stopped between rounds, the next round is done once",
          "[snapshot][resume][integration]") {
  Case c(5000, "rounds", {"--rounds", "3", "--interval", "3s"});
  auto& [p, opts, clean, store_path] = c;
  std::vector<std::string> args = {"compare", p.file, p.target.uri(), "--store", store_path};
  args.insert(args.end(), opts.begin(), opts.end());
  int64_t id = 0;
  {
    Spawned run(args, store_path + ".out", store_path + ".err");
    // Round 1 is through when its log says round 2 is waiting.
    auto waiting = [&] {
      std::ifstream in(store_path + ".err");
      std::string all((std::istreambuf_iterator<char>(in)), {});
      return all.find("re-checking them on the target") != std::string::npos;
    };
    while (run.running() && !waiting()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(run.running());
    run.signal(SIGINT);
    CHECK(run.wait(std::chrono::seconds(60)) == 2);
    Store store(store_path, false);
    id = store.latest_run("compare")->id;
    CHECK(store.rounds(id).size() == 1);
  }
  resume_and_check(c, id);
  CHECK(Store(store_path, false).rounds(id).size() == 3);
}

TEST_CASE("snapshot replicate --resume: another target server or db is refused; keys per db",
          "[snapshot][resume][integration]") {
  TestServer source, target, other;
  Cmds c;
  for (int i = 0; i < 40000; ++i) c.push_back({"SET", "k:" + std::to_string(i), "v"});
  source.pipeline(c);
  source.cmd({"SAVE"});
  const std::string file = tmp("repl") + ".rdb", store_path = tmp("repl.db");
  std::filesystem::copy_file(source.dir() + "/dump.rdb", file,
                             std::filesystem::copy_options::overwrite_existing);
  int64_t id = 0;
  {
    Spawned p({"replicate", file, target.uri(), "--store", store_path, "--batch", "2", "-q"},
              store_path + ".out", store_path + ".err");
    while (p.running() && target.reply({"DBSIZE"}).integer < 1000)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(p.running());
    p.signal(SIGINT);
    CHECK(p.wait(std::chrono::seconds(60)) == 2);
    Store store(store_path, false);
    id = store.latest_run("replicate")->id;
  }
  auto resume = [&](const std::string& uri, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"replicate", "--resume", std::to_string(id), file,
                                     uri,         "--store",  store_path,         "-q"};
    args.insert(args.end(), more.begin(), more.end());
    return run_migcheck(args);
  };
  auto res = resume(other.uri());
  CHECK(res.exit_code == 2);
  CHECK(res.err.find("is another server") != std::string::npos);
  CHECK(other.reply({"DBSIZE"}).integer == 0);
  res = resume(target.uri() + "/4");
  CHECK(res.exit_code == 2);
  CHECK(res.err.find("target db") != std::string::npos);
  res = resume(target.uri(), {"--db", "0", "--target-db", "1"});
  CHECK(res.exit_code == 2);
  CHECK(target.replies({{"SELECT", "4"}, {"DBSIZE"}}).back().integer == 0);
  res = resume(target.uri());
  INFO(res.out << res.err);
  CHECK(res.exit_code == 0);
  CHECK(target.reply({"DBSIZE"}).integer == 40000);
  // The file's keys per db are the run's source facts, counted once over the resume.
  Store store(store_path, false);
  const auto src = nlohmann::json::parse(store.run(id)->source_info_json);
  CHECK(src["keys_per_db"] == nlohmann::json{{"0", 40000}});
  CHECK(src["keyspace_known"] == true);
  std::filesystem::remove(file);
}

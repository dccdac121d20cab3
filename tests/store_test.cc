// Unit tests of the SQLite result store (src/store.h).
#include "store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_exception.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "errors.h"
#include "noncopyable.h"
#include "test_util.h"

namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::Message;
using Catch::Matchers::MessageMatches;
using migcheck::Difference;
using migcheck::DifferenceFilter;
using migcheck::Outcome;
using migcheck::RoundRecord;
using migcheck::RunRecord;
using migcheck::Store;
using migcheck::StoreError;

namespace {

using migcheck::test::slurp;

// A fresh directory per test case, named by pid and a counter so parallel
// test processes do not collide; removed on destruction.
class TempDir : migcheck::NonCopyable {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("migcheck-store-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Direct SQLite access, bypassing Store, to build and inspect files.
class RawDb : migcheck::NonCopyable {
 public:
  explicit RawDb(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &h_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            nullptr) == SQLITE_OK);
  }
  ~RawDb() { sqlite3_close_v2(h_); }
  void exec(const std::string& sql) {
    INFO(sql);
    REQUIRE(sqlite3_exec(h_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(h_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* h_ = nullptr;
};

Difference make_diff(int round, std::string key, std::string kind,
                     std::string source_type = "string", std::string target_type = "string") {
  Difference d;
  d.round = round;
  d.db = 3;
  d.key = std::move(key);
  d.kind = std::move(kind);
  d.source_type = std::move(source_type);
  d.target_type = std::move(target_type);
  d.source_ttl_ms = 1500;
  d.target_ttl_ms = -1;
  d.source_digest = "a1b2";
  d.target_digest = "c3d4";
  d.source_size = 7;
  d.target_size = 9;
  d.detail = "changed while read in chunks";
  return d;
}

auto fields(const Difference& d) {
  return std::tie(d.round, d.db, d.key, d.kind, d.source_type, d.target_type, d.source_ttl_ms,
                  d.target_ttl_ms, d.source_digest, d.target_digest, d.source_size, d.target_size,
                  d.detail);
}

auto fields(const Outcome& o) {
  return std::tie(o.db, o.key, o.action, o.outcome, o.error, o.detail);
}

std::vector<Difference> collect(Store& store, int64_t run, const DifferenceFilter& f) {
  std::vector<Difference> out;
  store.for_each_difference(run, f, [&](const Difference& d) { out.push_back(d); });
  return out;
}

int64_t begin(Store& store, const std::string& command = "compare") {
  RunRecord r;
  r.command = command;
  return store.begin_run(r);
}

using Counts = std::vector<std::pair<std::string, int64_t>>;

// Makes every write of the unix VFS fail with ENOSPC while active, which
// SQLite reports as SQLITE_FULL: a full disk without filling one.
class DiskFull : migcheck::NonCopyable {
 public:
  DiskFull() : vfs_(sqlite3_vfs_find(nullptr)) {
    REQUIRE(vfs_->iVersion >= 3);
    override("write", reinterpret_cast<sqlite3_syscall_ptr>(&no_write));
    override("pwrite", reinterpret_cast<sqlite3_syscall_ptr>(&no_pwrite));
    override("pwrite64", reinterpret_cast<sqlite3_syscall_ptr>(&no_pwrite));
  }
  ~DiskFull() {
    for (const char* name : {"write", "pwrite", "pwrite64"})
      vfs_->xSetSystemCall(vfs_, name, nullptr);
  }

 private:
  void override(const char* name, sqlite3_syscall_ptr fn) {
    if (vfs_->xGetSystemCall(vfs_, name) == nullptr) return;  // not used by this build
    REQUIRE(vfs_->xSetSystemCall(vfs_, name, fn) == SQLITE_OK);
  }
  static ssize_t no_write(int, const void*, size_t) {
    errno = ENOSPC;
    return -1;
  }
  static ssize_t no_pwrite(int, const void*, size_t, off_t) {
    errno = ENOSPC;
    return -1;
  }
  sqlite3_vfs* vfs_;
};

// The start of most store tests (a TEST_CASE_METHOD fixture): a new store
// in a temp directory, with one compare run begun.
struct StoreWithRun {
  TempDir tmp;
  Store store{tmp.file("s.db")};
  const int64_t run = begin(store);
};

// A store at `path` holding a run with one difference (key "x"), turned back
// into what an older schema looked like by `downgrade` (SQL). Returns the run.
int64_t old_schema_store(const std::string& path, const std::string& downgrade) {
  int64_t run = 0;
  {
    Store store(path);
    run = begin(store);
    store.add_differences(run, std::vector<Difference>{make_diff(1, "x", "value")});
  }
  RawDb(path).exec(downgrade);
  return run;
}

}  // namespace

TEST_CASE("store: create and reopen") {
  TempDir tmp;
  const std::string path = tmp.file("s.db");
  int64_t id = 0;
  {
    Store store(path);
    CHECK(store.path() == path);
    id = begin(store);
  }
  REQUIRE(fs::exists(path));
  {
    RawDb raw(path);
    CHECK(raw.text("PRAGMA application_id") == std::to_string(0x4D494743));
    CHECK(raw.text("PRAGMA user_version") == "3");
    CHECK(raw.text("PRAGMA journal_mode") == "wal");
  }
  Store again(path, /*create=*/false);
  auto r = again.run(id);
  REQUIRE(r);
  CHECK(r->command == "compare");

  // A second handle on the same file sees the same data.
  Store other(path, false);
  CHECK(other.latest_run()->id == id);

  SECTION("create=false refuses a missing file and does not create it") {
    const std::string missing = tmp.file("missing.db");
    CHECK_THROWS_AS(Store(missing, false), StoreError);
    CHECK_FALSE(fs::exists(missing));
  }
  SECTION("an empty file is initialised") {
    const std::string empty = tmp.file("empty.db");
    write_bytes(empty, "");
    Store s(empty, false);
    CHECK(begin(s) == 1);
  }
  SECTION("an empty SQLite database without tables is initialised") {
    const std::string blank = tmp.file("blank.db");
    {
      RawDb raw(blank);
      raw.exec("CREATE TABLE t(x); DROP TABLE t");
    }
    REQUIRE(fs::file_size(blank) > 0);
    Store s(blank);
    CHECK(s.runs().empty());
  }
}

TEST_CASE("store: runs lifecycle") {
  TempDir tmp;
  Store store(tmp.file("s.db"));
  CHECK_FALSE(store.latest_run());
  CHECK(store.runs().empty());
  CHECK_FALSE(store.run(42));

  RunRecord in;
  in.command = "compare";
  in.source = "redis://src:6379/0";
  in.target = "redis://dst:6379/0";
  in.options_json = R"({"rounds":2})";
  in.status = "ignored";
  in.exit_code = 99;
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t compare = store.begin_run(in);

  auto r = store.run(compare);
  REQUIRE(r);
  CHECK(r->id == compare);
  CHECK(r->command == "compare");
  CHECK_FALSE(r->parent);
  CHECK(r->status == "running");
  CHECK(r->exit_code == -1);
  CHECK(r->started_ms >= before);
  CHECK(r->finished_ms == 0);
  CHECK(r->source == in.source);
  CHECK(r->target == in.target);
  CHECK(r->options_json == in.options_json);
  CHECK_FALSE(r->version.empty());

  store.set_server_info(compare, R"({"engine":"redis"})", R"({"engine":"valkey"})");
  store.set_totals(compare, R"({"keys":10})");
  store.finish_run(compare, "done", 1);
  r = store.run(compare);
  REQUIRE(r);
  CHECK(r->source_info_json == R"({"engine":"redis"})");
  CHECK(r->target_info_json == R"({"engine":"valkey"})");
  CHECK(r->totals_json == R"({"keys":10})");
  CHECK(r->status == "done");
  CHECK(r->exit_code == 1);
  CHECK(r->finished_ms >= r->started_ms);

  RunRecord repair_in;
  repair_in.command = "repair";
  repair_in.parent = compare;
  const int64_t repair = store.begin_run(repair_in);
  CHECK(repair > compare);
  CHECK(store.run(repair)->parent == compare);
  const int64_t compare2 = begin(store, "compare");

  CHECK(store.latest_run()->id == compare2);
  CHECK(store.latest_run("repair")->id == repair);
  CHECK(store.latest_run("compare")->id == compare2);
  CHECK_FALSE(store.latest_run("replicate"));

  auto all = store.runs();
  REQUIRE(all.size() == 3);
  CHECK(all[0].id == compare);
  CHECK(all[1].id == repair);
  CHECK(all[2].id == compare2);

  CHECK_THROWS_AS(store.finish_run(999, "done", 0), StoreError);
  CHECK_THROWS_AS(store.set_totals(999, "{}"), StoreError);
  CHECK_THROWS_AS(store.set_server_info(999, "{}", "{}"), StoreError);
}

TEST_CASE_METHOD(StoreWithRun, "store: rounds upsert and last_round") {
  CHECK(store.last_round(run) == 0);
  CHECK(store.rounds(run).empty());

  store.put_round({run, 2, 100, 5, 1000, 2000});
  store.put_round({run, 1, 50, 3, 500, 900});
  CHECK(store.last_round(run) == 2);
  store.put_round({run, 1, 60, 1, 510, 950});  // upsert

  auto rounds = store.rounds(run);
  REQUIRE(rounds.size() == 2);
  CHECK(rounds[0].run == run);
  CHECK(rounds[0].round == 1);
  CHECK(rounds[0].keys_checked == 60);
  CHECK(rounds[0].differences == 1);
  CHECK(rounds[0].started_ms == 510);
  CHECK(rounds[0].finished_ms == 950);
  CHECK(rounds[1].round == 2);
  CHECK(rounds[1].keys_checked == 100);

  const int64_t other = begin(store);
  CHECK(store.last_round(other) == 0);
  CHECK_THROWS_AS(store.put_round({12345, 1, 0, 0, 0, 0}), StoreError);  // no such run
}

TEST_CASE_METHOD(StoreWithRun, "store: differences round-trip binary keys") {
  std::vector<Difference> in = {
      make_diff(1, std::string("a\0b\0", 4), "value"),
      make_diff(1, std::string("\xff\xfe\x80\x00\xc3", 5), "missing", "hash", "none"),
      make_diff(1, "", "extra", "none", "zset"),
      make_diff(1, "plain:key", "ttl"),
  };
  in[3].source_digest.clear();
  in[3].detail.clear();
  store.add_differences(run, in);
  store.add_differences(run, {});

  auto out = collect(store, run, {});
  REQUIRE(out.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    INFO("row " << i);
    CHECK(fields(out[i]) == fields(in[i]));
  }
  CHECK(out[0].key.size() == 4);
  CHECK(out[1].key.size() == 5);
  CHECK(out[2].key.empty());
  CHECK_THROWS_AS(store.add_differences(999, in), StoreError);

  // The same rows again (SCAN returning keys twice) insert nothing and are
  // not reported as inserted; a new one among them is.
  in.push_back(make_diff(1, "new", "missing", "string", "none"));
  std::vector<std::string> reported;
  CHECK(store.add_differences(run, in, [&](const Difference& d) { reported.push_back(d.key); }) ==
        1);
  CHECK(reported == std::vector<std::string>{"new"});
}

TEST_CASE_METHOD(StoreWithRun, "store: differences in key order, over several pages") {
  // 2,500 rows (pages of 1,000) over two dbs, binary keys, inserted shuffled.
  std::vector<Difference> in;
  for (int i = 0; i < 1250; ++i) {
    std::string key = std::string("k\0", 2) + std::to_string(i);
    in.push_back(make_diff(1, key, "value"));
    in.push_back(make_diff(1, key, i % 2 ? "ttl" : "missing"));
    in.back().db = i % 3 == 0 ? 3 : 0;
    in[in.size() - 2].db = in.back().db;
  }
  std::shuffle(in.begin(), in.end(), std::mt19937(7));
  store.add_differences(run, in);
  DifferenceFilter f;
  f.by_key = true;
  std::vector<std::tuple<int, std::string, std::string>> out;
  store.for_each_difference(run, f,
                            [&](const Difference& d) { out.emplace_back(d.db, d.key, d.kind); });
  REQUIRE(out.size() == in.size());
  CHECK(std::is_sorted(out.begin(), out.end()));
  CHECK(std::adjacent_find(out.begin(), out.end()) == out.end());  // each row once
  f.kinds = {"ttl"};
  int64_t ttl = 0;
  store.for_each_difference(run, f, [&](const Difference& d) { ttl += d.kind == "ttl"; });
  CHECK(ttl == 625);
}

TEST_CASE_METHOD(StoreWithRun, "store: difference filters by round and kind") {
  std::vector<Difference> diffs = {
      make_diff(1, "a", "value"), make_diff(1, "b", "missing"), make_diff(1, "c", "value"),
      make_diff(2, "a", "value"), make_diff(2, "d", "ttl"),
  };
  store.add_differences(run, diffs);

  // Without rounds rows, the last round is the highest one with differences.
  CHECK(store.count_differences(run, {}) == 2);
  CHECK(collect(store, run, {})[0].round == 2);

  store.put_round({run, 1, 10, 3, 0, 0});
  store.put_round({run, 2, 10, 2, 0, 0});
  store.put_round({run, 3, 10, 0, 0, 0});
  CHECK(store.count_differences(run, {}) == 0);  // last round (3) is clean
  CHECK(collect(store, run, {}).empty());

  DifferenceFilter round1;
  round1.round = 1;
  auto r1 = collect(store, run, round1);
  REQUIRE(r1.size() == 3);
  CHECK(r1[0].key == "a");
  CHECK(r1[1].key == "b");
  CHECK(r1[2].key == "c");
  CHECK(store.count_differences(run, round1) == 3);

  DifferenceFilter values{1, {"value"}};
  auto v = collect(store, run, values);
  REQUIRE(v.size() == 2);
  CHECK(v[0].key == "a");
  CHECK(v[1].key == "c");
  CHECK(store.count_differences(run, values) == 2);

  DifferenceFilter two_kinds{2, {"ttl", "missing"}};
  auto t = collect(store, run, two_kinds);
  REQUIRE(t.size() == 1);
  CHECK(t[0].key == "d");
  CHECK(store.count_differences(run, two_kinds) == 1);

  const int64_t empty_run = begin(store);
  CHECK(store.count_differences(empty_run, {}) == 0);
  CHECK(collect(store, empty_run, {}).empty());
}

TEST_CASE_METHOD(StoreWithRun, "store: counts by kind and type") {
  store.add_differences(run, std::vector<Difference>{
                                 make_diff(1, "a", "value", "hash", "hash"),
                                 make_diff(1, "b", "value", "string", "string"),
                                 make_diff(1, "c", "missing", "hash", "none"),
                                 make_diff(1, "d", "extra", "none", "list"),
                                 make_diff(1, "e", "type", "set", "zset"),
                                 make_diff(2, "f", "value", "stream", "stream"),
                             });
  CHECK(store.count_by_kind(run, 1) ==
        Counts{{"extra", 1}, {"missing", 1}, {"type", 1}, {"value", 2}});
  CHECK(store.count_by_type(run, 1) == Counts{{"hash", 2}, {"list", 1}, {"set", 1}, {"string", 1}});
  CHECK(store.count_by_kind(run, 2) == Counts{{"value", 1}});
  CHECK(store.count_by_kind(run, 3).empty());
}

TEST_CASE("store: outcomes") {
  TempDir tmp;
  Store store(tmp.file("s.db"));
  const int64_t run = begin(store, "repair");
  std::vector<Outcome> in = {
      {0, std::string("k\0\xff", 3), migcheck::Outcome::Action::Restore,
       migcheck::Outcome::Result::Repaired, "", ""},
      {1, "", migcheck::Outcome::Action::Delete, migcheck::Outcome::Result::Deleted, "",
       "extra on target"},
      {0, "big", migcheck::Outcome::Action::Fallback, migcheck::Outcome::Result::Failed,
       "OOM command not allowed", "chunked"},
      {2, "x", migcheck::Outcome::Action::Restore, migcheck::Outcome::Result::Failed, "ERR", ""},
  };
  store.add_outcomes(run, in);
  store.add_outcomes(run, {});

  std::vector<Outcome> out;
  store.for_each_outcome(run, [&](const Outcome& o) { out.push_back(o); });
  REQUIRE(out.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    INFO("row " << i);
    CHECK(fields(out[i]) == fields(in[i]));
  }
  CHECK(store.count_outcomes(run) == Counts{{"deleted", 1}, {"failed", 2}, {"repaired", 1}});

  const int64_t other = begin(store, "repair");
  CHECK(store.count_outcomes(other).empty());
  int calls = 0;
  store.for_each_outcome(other, [&](const Outcome&) { ++calls; });
  CHECK(calls == 0);
}

TEST_CASE("store: checkpoints") {
  TempDir tmp;
  Store store(tmp.file("s.db"));
  const int64_t a = begin(store);
  const int64_t b = begin(store);
  CHECK_FALSE(store.checkpoint(a, "cursor"));
  store.put_checkpoint(a, "cursor", R"({"db":0,"cursor":"123"})");
  store.put_checkpoint(b, "cursor", "{}");
  CHECK(store.checkpoint(a, "cursor") == R"({"db":0,"cursor":"123"})");
  store.put_checkpoint(a, "cursor", R"({"db":1,"cursor":"0"})");
  CHECK(store.checkpoint(a, "cursor") == R"({"db":1,"cursor":"0"})");
  CHECK(store.checkpoint(b, "cursor") == "{}");
  CHECK_FALSE(store.checkpoint(a, "other"));
  store.put_checkpoint(a, "empty", "");
  CHECK(store.checkpoint(a, "empty") == "");
}

TEST_CASE("store: a file that is not SQLite is refused and left unchanged") {
  TempDir tmp;
  const std::string path = tmp.file("random.db");
  std::mt19937 rng(1234);
  std::string bytes(4096, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng());
  write_bytes(path, bytes);

  const std::string expected = path + " is not a migcheck store (not an SQLite database)";
  CHECK_THROWS_MATCHES(Store(path), StoreError, Message(expected));
  CHECK_THROWS_MATCHES(Store(path, false), StoreError, Message(expected));
  CHECK(slurp(path) == bytes);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) CHECK_FALSE(fs::exists(path + suffix));

  write_bytes(path, "hello, not a database\n");
  CHECK_THROWS_MATCHES(Store(path), StoreError, Message(expected));
  CHECK(slurp(path) == "hello, not a database\n");
}

TEST_CASE("store: a foreign SQLite database is refused and left unchanged") {
  TempDir tmp;
  const std::string path = tmp.file("foreign.db");
  {
    RawDb raw(path);
    raw.exec("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT)");
    raw.exec("INSERT INTO users(name) VALUES('alice')");
  }
  const std::string before = slurp(path);
  CHECK_THROWS_MATCHES(
      Store(path), StoreError,
      Message(path + " is not a migcheck store (foreign SQLite database); refusing to modify it"));
  CHECK(slurp(path) == before);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) CHECK_FALSE(fs::exists(path + suffix));

  // Another application's id is foreign even without tables.
  const std::string tagged = tmp.file("tagged.db");
  {
    RawDb raw(tagged);
    raw.exec("PRAGMA application_id = 42");
  }
  const std::string tagged_before = slurp(tagged);
  CHECK_THROWS_MATCHES(Store(tagged), StoreError,
                       MessageMatches(ContainsSubstring("foreign SQLite")));
  CHECK(slurp(tagged) == tagged_before);
}

TEST_CASE("store: a store from a newer schema is refused and left unchanged") {
  TempDir tmp;
  const std::string path = tmp.file("newer.db");
  {
    Store store(path);
    begin(store);
  }
  {
    RawDb raw(path);
    raw.exec("PRAGMA user_version = 4");
  }
  const std::string before = slurp(path);
  CHECK_THROWS_MATCHES(
      Store(path), StoreError,
      Message(path + " was written by a newer migcheck (schema 4, this build knows 3); "
                     "refusing to modify it"));
  CHECK(slurp(path) == before);
}

TEST_CASE("store: unusable locations are refused with StoreError") {
  SECTION("missing directory") {
    CHECK_THROWS_MATCHES(
        Store("/nonexistent-dir/x.db"), StoreError,
        MessageMatches(ContainsSubstring("cannot open store /nonexistent-dir/x.db: ") &&
                       ContainsSubstring("cannot create it: No such file or directory")));
  }
  SECTION("under /proc") {
    const std::string path = "/proc/migcheck-store-test-" + std::to_string(getpid()) + ".db";
    CHECK_THROWS_MATCHES(Store(path), StoreError, MessageMatches(ContainsSubstring(path)));
  }
  SECTION("a directory") {
    TempDir tmp;
    CHECK_THROWS_MATCHES(Store(tmp.dir().string()), StoreError,
                         MessageMatches(ContainsSubstring(tmp.dir().string())));
  }
}

TEST_CASE("store: a read-only directory is refused with StoreError") {
  if (geteuid() == 0) SKIP("root ignores directory permissions");
  TempDir tmp;
  fs::permissions(tmp.dir(), fs::perms::owner_read | fs::perms::owner_exec);
  const std::string path = tmp.file("s.db");
  CHECK_THROWS_MATCHES(Store(path), StoreError,
                       MessageMatches(ContainsSubstring("cannot open store " + path +
                                                        ": cannot create it: Permission denied")));
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("store: a full disk is reported as StoreError and the batch is not kept") {
  TempDir tmp;
  const std::string path = tmp.file("s.db");
  Store store(path);
  const int64_t run = begin(store);
  store.add_differences(run, std::vector<Difference>{make_diff(1, "before", "value")});

  std::vector<Difference> batch;
  for (int i = 0; i < 200; ++i) batch.push_back(make_diff(1, "k" + std::to_string(i), "value"));
  {
    DiskFull full;
    CHECK_THROWS_MATCHES(store.add_differences(run, batch), StoreError,
                         Message("cannot write store " + path + ": database or disk is full"));
  }
  CHECK(store.count_differences(run, {}) == 1);
  store.add_differences(run, batch);
  CHECK(store.count_differences(run, {}) == 201);
}

TEST_CASE_METHOD(
    StoreWithRun,
    "store: paging streams differences in order and callbacks may re-enter the store") {
  std::vector<Difference> diffs;
  for (int i = 0; i < 2500; ++i)
    diffs.push_back(make_diff(1, "k" + std::to_string(i), i % 2 ? "missing" : "value"));
  store.add_differences(run, diffs);
  store.put_round({run, 1, 2500, 2500, 0, 0});

  int seen = 0;
  bool in_order = true;
  bool counts_ok = true;
  store.for_each_difference(run, {}, [&](const Difference& d) {
    in_order = in_order && d.key == "k" + std::to_string(seen);
    // Calling back into the store from the callback must not deadlock.
    counts_ok = counts_ok && store.count_differences(run, {}) == 2500;
    if (seen % 500 == 0) store.put_checkpoint(run, "seen", std::to_string(seen));
    ++seen;
  });
  CHECK(seen == 2500);
  CHECK(in_order);
  CHECK(counts_ok);
  CHECK(store.checkpoint(run, "seen") == "2000");

  // A kind filter across page boundaries keeps order and loses nothing.
  auto missing = collect(store, run, {std::nullopt, {"missing"}});
  REQUIRE(missing.size() == 1250);
  bool missing_in_order = true;
  for (size_t i = 0; i < missing.size(); ++i)
    missing_in_order = missing_in_order && missing[i].key == "k" + std::to_string(2 * i + 1);
  CHECK(missing_in_order);

  std::vector<Outcome> outcomes;
  for (int i = 0; i < 2100; ++i)
    outcomes.push_back({0, "k" + std::to_string(i), migcheck::Outcome::Action::Restore,
                        migcheck::Outcome::Result::Repaired, "", ""});
  store.add_outcomes(run, outcomes);
  int n = 0;
  bool outcomes_ok = true;
  store.for_each_outcome(run, [&](const Outcome& o) {
    outcomes_ok = outcomes_ok && o.key == "k" + std::to_string(n++) &&
                  store.count_outcomes(run) == Counts{{"repaired", 2100}};
  });
  CHECK(n == 2100);
  CHECK(outcomes_ok);
}

TEST_CASE_METHOD(StoreWithRun, "store: concurrent writers from several threads") {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int b = 0; b < 25; ++b) {
        std::vector<Difference> batch;
        for (int i = 0; i < 10; ++i)
          batch.push_back(
              make_diff(1, std::to_string(t) + ":" + std::to_string(b * 10 + i), "value"));
        store.add_differences(run, batch);
        store.put_checkpoint(run, "t" + std::to_string(t), std::to_string(b));
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(store.count_differences(run, {}) == 1000);
  for (int t = 0; t < 4; ++t) CHECK(store.checkpoint(run, "t" + std::to_string(t)) == "24");
}

TEST_CASE_METHOD(StoreWithRun,
                 "store: a difference already recorded for the round is not doubled") {
  std::vector<Difference> first = {make_diff(1, std::string("k\0", 2), "value"),
                                   make_diff(1, "a", "ttl")};
  CHECK(store.add_differences(run, first) == 2);
  // Again (a SCAN duplicate), plus a new kind for the same key and the same key in round 2.
  std::vector<Difference> again = {make_diff(1, std::string("k\0", 2), "value"),
                                   make_diff(1, "a", "value"), make_diff(2, "a", "ttl")};
  CHECK(store.add_differences(run, again) == 2);
  DifferenceFilter f;
  f.round = 1;
  CHECK(store.count_differences(run, f) == 3);
  f.round = 2;
  CHECK(store.count_differences(run, f) == 1);
}

TEST_CASE_METHOD(StoreWithRun, "store: after_id pages from a position, and outcomes roll back") {
  std::vector<Difference> diffs;
  for (int i = 0; i < 2500; ++i)
    diffs.push_back(make_diff(1, "k" + std::to_string(i), "missing", "string", "none"));
  store.add_differences(run, diffs);
  DifferenceFilter f;
  std::vector<Difference> all = collect(store, run, f);
  REQUIRE(all.size() == 2500);
  f.after_id = all[1199].id;
  CHECK(store.count_differences(run, f) == 1300);
  std::vector<Difference> rest = collect(store, run, f);
  REQUIRE(rest.size() == 1300);
  CHECK(rest.front().key == "k1200");
  CHECK(rest.back().key == "k2499");

  std::vector<Outcome> outs;
  for (int i = 0; i < 10; ++i)
    outs.push_back({0, "o" + std::to_string(i), migcheck::Outcome::Action::Restore,
                    migcheck::Outcome::Result::Copied, "", ""});
  store.add_outcomes(run, std::span(outs).first(4));
  const int64_t mark = store.max_outcome_id();
  store.add_outcomes(run, std::span(outs).subspan(4));
  store.rollback_outcomes(run, mark);
  std::vector<std::string> keys;
  store.for_each_outcome(run, [&](const Outcome& o) { keys.push_back(o.key); });
  CHECK(keys == std::vector<std::string>{"o0", "o1", "o2", "o3"});
}

TEST_CASE("store: a schema 1 store is upgraded on open, its rows kept") {
  TempDir tmp;
  const std::string path = tmp.file("old.db");
  const int64_t run =
      old_schema_store(path,
                       "DROP INDEX differences_key; ALTER TABLE differences DROP COLUMN location; "
                       "PRAGMA user_version = 1;");
  Store store(path, false);
  CHECK(store.count_differences(run, {}) == 1);
  CHECK(store.add_differences(run, std::vector<Difference>{make_diff(1, "x", "value")}) == 0);
}

TEST_CASE("store: a schema 2 store gains the location column on open, its rows kept") {
  TempDir tmp;
  const std::string path = tmp.file("v2.db");
  const int64_t run = old_schema_store(
      path, "ALTER TABLE differences DROP COLUMN location; PRAGMA user_version = 2;");
  Store store(path, false);
  Difference d = make_diff(1, "y", "value");
  d.location = R"({"located":true,"part":"field"})";
  CHECK(store.add_differences(run, std::vector<Difference>{d}) == 1);
  std::vector<Difference> rows;
  store.for_each_difference(run, {}, [&](const Difference& r) { rows.push_back(r); });
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].key == "x");
  CHECK(rows[0].location.empty());
  CHECK(rows[1].location == d.location);
  RawDb raw(path);
  CHECK(raw.text("PRAGMA user_version") == "3");
}

// Tests of the target scan settled by counts (compare/target_scan_skip.h):
// the decision on its own, the servers' marks, and end to end that a compare
// of identical, unchanging servers skips the target scan while any key the
// source lacks is still found.
#include <catch2/catch_test_macros.hpp>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "compare.h"
#include "server_fixture.h"
#include "store.h"
#include "target_scan_skip.h"
#include "test_util.h"

using namespace migcheck;
using migcheck::test::TestServer;

namespace {

using Rows = std::set<std::pair<std::string, std::string>>;  // (key, kind)

CompareResult compare(TestServer& source, TestServer& target, const std::string& name,
                      Rows& found) {
  Store store(migcheck::test::tmp_store("target_scan_skip", name));
  CompareOptions o;
  o.source = parse_uri(source.uri());
  o.target = parse_uri(target.uri());
  o.rounds = 1;
  o.connections = 2;
  o.batch = 16;
  o.progress = false;
  CompareResult r = run_compare(o, store);
  store.for_each_difference(r.run_id, DifferenceFilter{},
                            [&](const Difference& d) { found.emplace(d.key, d.kind); });
  return r;
}

void load(TestServer& s, int n, const std::string& extra = {}) {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < n; ++i) {
    const std::string k = std::to_string(i);
    cmds.push_back({"SET", "s:" + k, "v" + k});
    cmds.push_back({"HSET", "h:" + k, "f", k});
  }
  if (!extra.empty()) cmds.push_back({"SET", extra, "x"});
  s.pipeline(cmds);
}

}  // namespace

TEST_CASE("target scan skip: the decision needs both servers unchanged and the counts equal",
          "[compare][target_scan_skip]") {
  const KeyspaceMark src{.dbsize = 10, .dirty = 5, .last_save = 100, .saving = false};
  const KeyspaceMark tgt{.dbsize = 10, .dirty = 7, .last_save = 90, .saving = false};
  const SourcePassCounts ok{.source_keys = 10, .found_on_target = 10};
  CHECK(target_scan_needed(src, src, tgt, tgt, ok).empty());

  KeyspaceMark written = tgt;
  ++written.dirty;
  CHECK_FALSE(target_scan_needed(src, src, tgt, written, ok).empty());
  CHECK_FALSE(target_scan_needed(written, written, tgt, written, ok).empty());
  KeyspaceMark src_written = src;
  ++src_written.dirty;
  CHECK_FALSE(target_scan_needed(src, src_written, tgt, tgt, ok).empty());
  KeyspaceMark saved = tgt;
  saved.last_save = 95;  // a save reset the write counter in between
  CHECK_FALSE(target_scan_needed(src, src, tgt, saved, ok).empty());
  KeyspaceMark saving = tgt;
  saving.saving = true;
  CHECK_FALSE(target_scan_needed(src, src, saving, saving, ok).empty());
  KeyspaceMark expired = tgt;
  --expired.dbsize;  // a key expired (no write counted)
  CHECK_FALSE(target_scan_needed(src, src, tgt, expired, ok).empty());
  // SCAN returned a key twice (9 distinct keys read as 10) or missed one.
  CHECK_FALSE(
      target_scan_needed(src, src, tgt, tgt, {.source_keys = 11, .found_on_target = 10}).empty());
  CHECK_FALSE(
      target_scan_needed(src, src, tgt, tgt, {.source_keys = 9, .found_on_target = 9}).empty());
  // The target holds a key the source pass did not find there.
  CHECK_FALSE(
      target_scan_needed(src, src, tgt, tgt, {.source_keys = 10, .found_on_target = 9}).empty());
}

TEST_CASE("target scan skip: a server's mark moves with every write and key count",
          "[compare][target_scan_skip]") {
  TestServer s;
  Client c(parse_uri(s.uri()), ClientOptions{});
  const auto a = keyspace_mark(c);
  REQUIRE(a);
  CHECK(a->dbsize == 0);
  CHECK_FALSE(a->saving);
  s.cmd({"SET", "k", "v"});
  const auto b = keyspace_mark(c);
  REQUIRE(b);
  CHECK(b->dbsize == 1);
  CHECK(b->dirty > a->dirty);
  s.cmd({"GET", "k"});
  const auto again = keyspace_mark(c);
  REQUIRE(again);
  CHECK(again->dirty == b->dirty);
  s.cmd({"SET", "k", "w"});  // overwritten: same key count, one more write
  const auto c2 = keyspace_mark(c);
  REQUIRE(c2);
  CHECK(c2->dbsize == b->dbsize);
  CHECK(c2->dirty > b->dirty);
}

TEST_CASE("target scan skip: identical servers skip it, a key only on the target is still found",
          "[compare][target_scan_skip]") {
  TestServer source, target;
  load(source, 200);
  load(target, 200);
  Rows rows;
  CompareResult same = compare(source, target, "same", rows);
  CHECK(same.exit_code == 0);
  CHECK(same.keys_checked == 400);
  CHECK(same.target_scan_settled);
  CHECK(same.target_keys_scanned == 0);
  CHECK(rows.empty());

  // One more key on the target: its key count exceeds the source keys found.
  target.cmd({"SET", "only:target", "x"});
  rows.clear();
  CompareResult extra = compare(source, target, "extra", rows);
  CHECK_FALSE(extra.target_scan_settled);
  CHECK(extra.target_keys_scanned == 401);
  CHECK(rows == Rows{{"only:target", "extra"}});

  // The same key counts on both sides, one key swapped: both are found.
  target.cmd({"DEL", "s:7"});
  rows.clear();
  CompareResult swapped = compare(source, target, "swapped", rows);
  CHECK(swapped.exit_code == 1);
  CHECK_FALSE(swapped.target_scan_settled);
  CHECK(rows == Rows{{"only:target", "extra"}, {"s:7", "missing"}});

  // A key on the target that expires unseen: its count still holds it, so
  // the scan runs (and the expired key is no difference).
  target.cmd({"DEL", "only:target"});
  target.cmd({"SET", "s:7", "v7"});
  target.cmd({"DEBUG", "SET-ACTIVE-EXPIRE", "0"});
  target.cmd({"SET", "gone", "x", "PX", "1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  rows.clear();
  CompareResult expiring = compare(source, target, "expiring", rows);
  CHECK(expiring.exit_code == 0);
  CHECK_FALSE(expiring.target_scan_settled);
  CHECK(rows.empty());
}

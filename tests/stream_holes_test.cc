// Pending entries whose stream entry was deleted (replicate/stream_holes.h),
// end to end on Redis 7.0 and Valkey 8.0: a big stream saved to a file by
// the server, replicated by type in chunks (--struct, a small big-key
// size), must come out with the same entries, counters, groups and pending
// entries (XINFO STREAM FULL, XPENDING) and digest (DEBUG DIGEST-VALUE); and
// `migcheck compare` must see a pending entry that is missing.
#include <catch2/catch_test_macros.hpp>

#include <filesystem>

#include "cli_runner.h"
#include "copier.h"
#include "server_fixture.h"
#include "snapshot_fixture.h"
#include "snapshot_replicate.h"
#include "store.h"
#include "stream_shape.h"
#include "test_util.h"

using namespace migcheck;
namespace t = migcheck::test;

namespace {

// big:x, 3000 entries (about 150 KB) all read by alice in group g; then
// entries 1-0 (the first), 7-0, 1500-0 and 3000-0 (the last) deleted: all
// four stay pending. Group h read 10 entries of which 7-0 is pending, and
// a consumer with none.
std::vector<std::vector<std::string>> big_stream_with_holes() {
  std::vector<std::vector<std::string>> c;
  for (int i = 1; i <= 3000; ++i)
    c.push_back({"XADD", "big:x", std::to_string(i) + "-0", "f", std::string(40, 'v')});
  c.push_back({"XGROUP", "CREATE", "big:x", "g", "0"});
  c.push_back({"XGROUP", "CREATE", "big:x", "h", "0"});
  c.push_back({"XREADGROUP", "GROUP", "g", "alice", "COUNT", "3000", "STREAMS", "big:x", ">"});
  c.push_back({"XREADGROUP", "GROUP", "h", "bob", "COUNT", "10", "STREAMS", "big:x", ">"});
  c.push_back({"XGROUP", "CREATECONSUMER", "big:x", "h", "idle"});
  for (const char* id : {"1-0", "7-0", "1500-0", "3000-0"}) c.push_back({"XDEL", "big:x", id});
  return c;
}

std::string digest(t::TestServer& s, const std::string& key) {
  return s.reply({"DEBUG", "DIGEST-VALUE", key}).elements.at(0).str;
}

// The pending ids of `group`, in order.
std::vector<std::string> pending_ids(t::TestServer& s, const std::string& group) {
  std::vector<std::string> ids;
  for (const auto& e : s.reply({"XPENDING", "big:x", group, "-", "+", "10000"}).elements)
    ids.push_back(e.elements.at(0).str);
  return ids;
}

// The options of a server of `engine` (the test is skipped where it is missing).
t::ServerOptions engine_options(const std::string& engine) {
  t::ServerOptions so;
  so.binary = t::engine_binary(engine);
  if (so.binary.empty()) {
    if (t::missing_engine_is_error()) FAIL(engine << " is not installed");
    SKIP(engine << " is not installed");
  }
  return so;
}

// `target` holds big:x exactly as `source` does.
void check_same_stream(t::TestServer& source, t::TestServer& target) {
  // Every entry was read: all 3000 ids pending in g, 10 in h.
  CHECK(pending_ids(source, "g").size() == 3000);
  CHECK(pending_ids(source, "h").size() == 10);
  CHECK(pending_ids(target, "g") == pending_ids(source, "g"));
  CHECK(pending_ids(target, "h") == pending_ids(source, "h"));
  CHECK(t::stream_shape(source, "big:x", false) == t::stream_shape(target, "big:x", false));
  CHECK(digest(source, "big:x") == digest(target, "big:x"));
  CHECK(target.reply({"DBSIZE"}).integer == 1);  // no temporary key left
}

// big:x saved by `source` to a file and replicated into `target` by type,
// in chunks; the file is removed.
SnapshotReplicateResult replicate_file(t::TestServer& source, t::TestServer& target,
                                       const std::string& base, bool structural, Store& store) {
  source.pipeline(big_stream_with_holes());
  const std::string file = t::save_snapshot(source, base + ".rdb");
  SnapshotReplicateOptions o;
  o.source_file = file;
  o.base.target = parse_uri(target.uri());
  o.base.progress = false;
  o.base.structural = structural;
  o.big_bytes = 64 << 10;  // big:x goes in chunks
  o.chunk_elements = 500;
  auto r = run_snapshot_replicate(o, store);
  std::filesystem::remove(file);
  return r;
}

void check_copy(const std::string& engine, bool structural) {
  const t::ServerOptions so = engine_options(engine);
  t::TestServer source(so), target(so);
  const std::string base = t::snapshot_tmp("holes", engine);
  Store store(base + ".db");
  auto r = replicate_file(source, target, base, structural, store);
  CHECK(r.replicate.exit_code == 0);
  CHECK(r.replicate.copy.chunked == 1);
  check_same_stream(source, target);

  // compare agrees, and sees a pending entry of a deleted entry missing.
  auto same = t::run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", base + "-c.db", "--rounds", "1"});
  CHECK(same.exit_code == 0);
  target.cmd({"XACK", "big:x", "g", "1500-0"});
  auto diff = t::run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", base + "-d.db", "--rounds", "1"});
  CHECK(diff.exit_code == 1);
  for (const char* s : {"-c.db", "-d.db"}) t::remove_store(base + s);
}

// The live replicate's copy by type of the same stream (replicate/stream_copy.h):
// whole (`big` false) or read and written in chunks.
void check_live_copy(const std::string& engine, bool big) {
  const t::ServerOptions so = engine_options(engine);
  t::TestServer source(so), target(so);
  source.pipeline(big_stream_with_holes());
  Client src(parse_uri(source.uri()), t::quick_client()),
      tgt(parse_uri(target.uri()), t::quick_client());
  CopyOptions o;
  o.structural = true;
  o.big_bytes = big ? 32 << 10 : 64 << 20;
  o.chunk_elements = 500;
  Copier copier(src, tgt, o);
  const std::vector<std::string> keys{"big:x"};
  auto results = copier.copy(keys);
  REQUIRE(results.size() == 1);
  CHECK(results[0].outcome.outcome == Outcome::Result::Copied);
  CHECK(copier.counters().chunked == (big ? 1 : 0));
  check_same_stream(source, target);
}

// `check(engine, flag)` on Redis 7.0 and Valkey 8.0, both flags, a section each.
template <typename Check>
void on_both_engines(const char* when_true, const char* when_false, Check check) {
  for (const char* engine : {"redis-7.0", "valkey-8.0"})
    for (bool flag : {true, false})
      DYNAMIC_SECTION(engine << " " << (flag ? when_true : when_false)) {
        check(engine, flag);
      }
}

}  // namespace

TEST_CASE("stream holes: a chunked stream from a file keeps pending entries of deleted entries",
          "[snapshot][replicate][integration]") {
  on_both_engines("struct", "default", check_copy);
}

TEST_CASE("stream holes: the live copy by type keeps pending entries of deleted entries",
          "[replicate][integration]") {
  on_both_engines("chunked", "whole", check_live_copy);
}

TEST_CASE("stream holes: a target error while placing them fails the key, as data",
          "[snapshot][replicate][integration]") {
  t::TestServer source, target(t::ServerOptions{.rename_away = {"XRANGE"}});
  const std::string base = t::snapshot_tmp("holes", "refused");
  Store store(base + ".db");
  auto r = replicate_file(source, target, base, true, store);
  CHECK(r.replicate.exit_code == 1);
  CHECK(r.replicate.copy.failed == 1);
  std::vector<Outcome> outcomes;
  store.for_each_outcome(r.replicate.run_id, [&](const Outcome& o) { outcomes.push_back(o); });
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].key == "big:x");
  CHECK(outcomes[0].outcome == Outcome::Result::Failed);
  CHECK(outcomes[0].detail == "placing the pending entries of deleted stream entries: XRANGE");
  CHECK(target.reply({"DBSIZE"}).integer == 0);  // neither temporary key is left
}

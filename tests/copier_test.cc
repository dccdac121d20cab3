// The copy engine (replicate/copier.h) against real servers: DUMP/RESTORE
// with absolute TTLs, writing by type (streams with groups and PEL), big
// values in chunks through a temporary key in the same slot, refused
// payloads, dry runs, per-key errors. (Temporary-key naming: slot_tag_test.cc.)
#include "copier.h"

#include <catch2/catch_test_macros.hpp>

#include <functional>
#include <random>
#include <set>

#include "compare.h"
#include "reader.h"
#include "server_fixture.h"
#include "slot.h"
#include "stream_shape.h"
#include "test_util.h"

using namespace migcheck;
namespace t = migcheck::test;
using t::stream_shape;
using namespace std::string_literals;

namespace {

// Every type, binary keys and values, TTLs, intsets and listpacks, infinite
// scores, and streams with deleted entries, groups, consumers and a PEL.
t::Cmds every_type() {
  return {
      {"SET", "str:1", "hello"},
      {"SET", "str:int", "12345"},
      {"SET", "str:bin", "\0\xff\r\n value \x01"s},
      {"SET", "bin\0key\xff"s, "v"},
      {"SET", "str:ttl", "expires", "PX", "600000"},
      {"SET", "str:long", std::string(5000, 'x') + "tail"},
      {"RPUSH", "list:1", "a", "b", "c", "a"},
      {"RPUSH", "list:bin", "\0"s, "\xff"s, ""},
      {"PEXPIRE", "list:1", "700000"},
      {"HSET", "hash:1", "f1", "v1", "f2", "v2"},
      {"HSET", "hash:bin", "\0f"s, "\xffv"s},
      {"SADD", "set:1", "a", "b", "c"},
      {"SADD", "set:int", "1", "2", "3", "-7"},
      {"ZADD", "zset:1", "1.5", "a", "2", "b", "-inf", "c", "inf", "d", "0.1", "e", "1e-300", "f"},
      {"PEXPIRE", "zset:1", "800000"},
      {"XADD", "stream:1", "1-1", "f", "v1"},
      {"XADD", "stream:1", "2-1", "f", "v2", "g", "w"},
      {"XADD", "stream:1", "3-5", "f", "v3"},
      {"XADD", "stream:1", "4-0", "f", "v4"},
      {"XDEL", "stream:1", "2-1"},
      {"XGROUP", "CREATE", "stream:1", "g1", "0"},
      {"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "stream:1", ">"},
      {"XREADGROUP", "GROUP", "g1", "carol", "COUNT", "1", "STREAMS", "stream:1", ">"},
      {"XCLAIM", "stream:1", "g1", "alice", "0", "4-0", "RETRYCOUNT", "7"},
      {"XADD", "stream:1", "5-0", "f", "v5"},
      {"XREADGROUP", "GROUP", "g1", "carol", "COUNT", "1", "STREAMS", "stream:1", ">"},
      {"XDEL", "stream:1", "5-0"},  // pending, but its entry is gone
      {"XGROUP", "CREATE", "stream:1", "g2", "$"},
      {"XGROUP", "CREATECONSUMER", "stream:1", "g2", "bob"},
      {"XGROUP", "CREATE", "stream:empty", "g", "0", "MKSTREAM"},
      {"XADD", "stream:trimmed", "5-1", "a", "1"},
      {"XADD", "stream:trimmed", "6-1", "a", "2"},
      {"XTRIM", "stream:trimmed", "MAXLEN", "0"},
  };
}

// The project's own verdict: classify_key on KeyReader states of both sides.
std::vector<Difference> compare_keys(Client& src, Client& tgt,
                                     const std::vector<std::string>& keys) {
  KeyReader a(src), b(tgt);
  read_together(a, keys, b, keys, ReadLevel::Full);
  std::vector<Difference> out;
  for (size_t i = 0; i < keys.size(); ++i)
    classify_key(keys[i], 0, 1, a.results()[i], b.results()[i], Millis(1000), out);
  return out;
}

std::string diff_text(const std::vector<Difference>& d) {
  std::string s;
  for (auto& x : d) s += x.key + ": " + x.kind + " " + x.detail + "\n";
  return s;
}

// The project's own verdict on `keys`: no difference.
void check_no_difference(Client& src, Client& tgt, const std::vector<std::string>& keys) {
  auto d = compare_keys(src, tgt, keys);
  INFO(diff_text(d));
  CHECK(d.empty());
}

// `key` expires at the same absolute time on both sides (not a TTL
// stretched by transit), to the 2 ms a copy may add.
void check_same_expiry(t::TestServer& source, t::TestServer& target, const std::string& key) {
  INFO(key);
  CHECK(std::llabs(std::stoll(source.cmd({"PEXPIRETIME", key})) -
                   std::stoll(target.cmd({"PEXPIRETIME", key}))) <= 2);
}

int count_outcome(const std::vector<CopyResult>& rs, Outcome::Result outcome) {
  int n = 0;
  for (auto& r : rs) n += r.outcome.outcome == outcome;
  return n;
}

// Copies every key of `source` with `copier` and checks each outcome with
// `check` (shown with its key, error and detail); the keys copied.
std::vector<std::string> copy_checking_each(Copier& copier, t::TestServer& source,
                                            const std::function<void(const Outcome&)>& check) {
  auto keys = keys_of(source);
  for (auto& r : copier.copy(keys)) {
    INFO(r.outcome.key << ": " << r.outcome.error << " " << r.outcome.detail);
    check(r.outcome);
  }
  return keys;
}

bool has_temp_keys(t::TestServer& s) {
  for (auto& k : keys_of(s))
    if (k.find("migcheck:tmp:") != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("copier: which RESTORE errors fall back to writing by type") {
  CHECK(restore_error_wants_fallback("ERR DUMP payload version or checksum are wrong"));
  CHECK(restore_error_wants_fallback("ERR Bad data format"));
  CHECK(restore_error_wants_fallback("ERR unknown command 'RESTORE', with args beginning with: "));
  CHECK(restore_error_wants_fallback(
      "NOPERM User u has no permissions to run the 'restore' command"));
  CHECK_FALSE(
      restore_error_wants_fallback("OOM command not allowed when used memory > 'maxmemory'."));
  CHECK_FALSE(
      restore_error_wants_fallback("READONLY You can't write against a read only replica."));
  CHECK_FALSE(restore_error_wants_fallback("NOPERM No permissions to access a key"));
}

TEST_CASE("copier: DUMP/RESTORE copies every type with absolute TTLs; gone keys are deleted",
          "[integration]") {
  t::TestServer source, target;
  source.pipeline(every_type());
  target.pipeline({{"SET", "only-target", "x"}, {"RPUSH", "str:1", "wrong type"}});
  Client src(parse_uri(source.uri()), t::quick_client()),
      tgt(parse_uri(target.uri()), t::quick_client());
  Copier copier(src, tgt, CopyOptions{});
  auto keys = keys_of(source);
  keys.push_back("only-target");
  keys.push_back("nowhere");
  auto results = copier.copy(keys);
  REQUIRE(results.size() == keys.size());
  for (auto& r : results) {
    INFO(r.outcome.key << ": " << r.outcome.outcome << " " << r.outcome.error << " "
                       << r.outcome.detail);
    if (r.outcome.key == "only-target" || r.outcome.key == "nowhere") {
      CHECK(r.outcome.action == Outcome::Action::Delete);
      CHECK(r.outcome.outcome == Outcome::Result::Deleted);
    } else {
      CHECK(r.outcome.action == Outcome::Action::Restore);
      CHECK(r.outcome.outcome == Outcome::Result::Copied);
    }
  }
  CHECK(copier.counters().restored == static_cast<int64_t>(keys.size()) - 2);
  CHECK(copier.counters().deleted == 2);
  CHECK(copier.counters().bytes > 0);
  CHECK(source.debug_digest() == target.debug_digest());
  // Absolute expiry: the same deadline on both sides, not a TTL stretched by transit.
  for (const char* k : {"str:ttl", "list:1", "zset:1"}) {
    CHECK(std::stoll(source.cmd({"PEXPIRETIME", k})) > 0);
    check_same_expiry(source, target, k);
  }
  CHECK(target.cmd({"PTTL", "str:1"}) == "-1");
  CHECK(stream_shape(source, "stream:1") == stream_shape(target, "stream:1"));
  check_no_difference(src, tgt, keys);
}

TEST_CASE("copier: by type (--struct) rebuilds every type, streams with groups, PEL and counters",
          "[integration]") {
  t::TestServer source, target;
  source.pipeline(every_type());
  Client src(parse_uri(source.uri()), t::quick_client()),
      tgt(parse_uri(target.uri()), t::quick_client());
  CopyOptions o;
  o.structural = true;
  Copier copier(src, tgt, o);
  auto keys = copy_checking_each(copier, source, [](const Outcome& out) {
    CHECK(out.action == Outcome::Action::Fallback);
    CHECK(out.outcome == Outcome::Result::Copied);
  });
  CHECK(copier.counters().fallbacks == static_cast<int64_t>(keys.size()));
  CHECK(source.debug_digest() == target.debug_digest());
  for (const char* k : {"stream:1", "stream:empty", "stream:trimmed"}) {
    INFO(k);
    CHECK(stream_shape(source, k) == stream_shape(target, k));
  }
  // Delivery counts and times of the PEL survive (XCLAIM ... TIME RETRYCOUNT).
  CHECK(source.cmd({"XPENDING", "stream:1", "g1", "-", "+", "10"}).size() > 0);
  auto sp = source.reply({"XPENDING", "stream:1", "g1", "-", "+", "10"});
  auto tp = target.reply({"XPENDING", "stream:1", "g1", "-", "+", "10"});
  REQUIRE(sp.elements.size() == 4);
  REQUIRE(tp.elements.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(sp.elements[i].elements[0].str == tp.elements[i].elements[0].str);
    CHECK(sp.elements[i].elements[1].str == tp.elements[i].elements[1].str);
    CHECK(sp.elements[i].elements[3].integer == tp.elements[i].elements[3].integer);
  }
  for (const char* k : {"str:ttl", "list:1", "zset:1"}) check_same_expiry(source, target, k);
  check_no_difference(src, tgt, keys);
  CHECK_FALSE(has_temp_keys(target));
}

TEST_CASE("copier: big values are read and written in chunks through a temporary key",
          "[integration]") {
  t::TestServer source, target;
  t::Cmds load;
  std::vector<std::string> list{"RPUSH", "big:list"}, hash{"HSET", "big:hash"},
      set{"SADD", "big:set"}, zset{"ZADD", "big:zset"};
  for (int i = 0; i < 6000; ++i) {
    const std::string n = std::to_string(i);
    list.push_back("element-" + n);
    hash.insert(hash.end(), {"field-" + n, "value-" + n});
    set.push_back("member-" + n);
    zset.insert(zset.end(), {std::to_string(i * 0.25), "m-" + n});
  }
  load = {list,
          hash,
          set,
          zset,
          {"SET", "big:string", std::string(300000, 'b') + "end"},
          {"PEXPIRE", "big:hash", "900000"}};
  for (int i = 1; i <= 2500; ++i)
    load.push_back({"XADD", "big:stream", std::to_string(i) + "-0", "f",
                    std::string(40, 's') + std::to_string(i)});
  load.push_back({"XGROUP", "CREATE", "big:stream", "readers", "0"});
  load.push_back(
      {"XREADGROUP", "GROUP", "readers", "r1", "COUNT", "1500", "STREAMS", "big:stream", ">"});
  load.push_back({"XDEL", "big:stream", "7-0"});
  load.push_back({"XGROUP", "CREATECONSUMER", "big:stream", "readers", "idle-one"});
  source.pipeline(load);
  target.pipeline({{"SET", "big:list", "old value, replaced atomically"}});

  Client src(parse_uri(source.uri()), t::quick_client()),
      tgt(parse_uri(target.uri()), t::quick_client());
  CopyOptions o;
  o.big_bytes = 32 * 1024;
  o.chunk_elements = 250;
  o.chunk_bytes = 64 * 1024;
  Copier copier(src, tgt, o);
  auto keys = copy_checking_each(copier, source, [](const Outcome& out) {
    CHECK(out.outcome == Outcome::Result::Copied);
    CHECK(out.detail == "big value copied in chunks");
  });
  CHECK(copier.counters().chunked == 6);
  CHECK(source.debug_digest() == target.debug_digest());
  // XPENDING gives idle times, so delivery times of a chunked copy are close, not exact.
  CHECK(stream_shape(source, "big:stream", false) == stream_shape(target, "big:stream", false));

  check_same_expiry(source, target, "big:hash");
  check_no_difference(src, tgt, keys);
  CHECK_FALSE(has_temp_keys(target));
}

TEST_CASE("copier: a target that refuses the payload version gets every type by type",
          "[integration]") {
  if (!t::have_binary("valkey-server")) SKIP("valkey-server not installed");
  t::TestServer source(t::ServerOptions{.binary = "valkey-server"});
  t::TestServer target;  // Redis 7.0: RDB 10 < Valkey 8's 11
  source.pipeline(every_type());
  Client src(parse_uri(source.uri()), t::quick_client()),
      tgt(parse_uri(target.uri()), t::quick_client());
  auto shared = std::make_shared<CopyShared>();
  CopyOptions o;
  o.shared = shared;
  o.batch = 4;  // several batches in flight when the refusal is seen
  Copier copier(src, tgt, o);
  auto keys = keys_of(source);
  auto results = copier.copy(keys);
  CHECK(shared->restore_refused.load());
  CHECK(count_outcome(results, Outcome::Result::Copied) == static_cast<int>(keys.size()));
  CHECK(copier.counters().fallbacks == static_cast<int64_t>(keys.size()));
  bool saw_detail = false;
  for (auto& r : results)
    saw_detail |= r.outcome.detail.find("payload version") != std::string::npos;
  CHECK(saw_detail);
  // DEBUG DIGEST-VALUE where both servers format values alike (not zsets: 7.0 and 7.2+ print scores
  // differently).
  for (const auto& k : keys) {
    if (source.cmd({"TYPE", k}) == "zset") continue;
    INFO(k);
    CHECK(source.debug_digest_value(k) == target.debug_digest_value(k));
  }
  CHECK(stream_shape(source, "stream:1") == stream_shape(target, "stream:1"));
  check_no_difference(src, tgt, keys);
}

TEST_CASE("copier: dry run decides and writes nothing", "[integration]") {
  t::TestServer source, target;
  source.pipeline(every_type());
  source.pipeline({{"SET", "big", std::string(200000, 'x')}});
  target.pipeline({{"SET", "only-target", "1"}, {"SET", "str:1", "other"}});
  const std::string before = target.debug_digest();
  Client src(parse_uri(source.uri()), t::quick_client()),
      tgt(parse_uri(target.uri()), t::quick_client());
  CopyOptions o;
  o.dry_run = true;
  o.big_bytes = 100000;
  Copier copier(src, tgt, o);
  auto keys = keys_of(source);
  keys.push_back("only-target");
  auto results = copier.copy(keys);
  CHECK(count_outcome(results, Outcome::Result::Planned) == static_cast<int>(keys.size()));
  for (auto& r : results) {
    if (r.outcome.key == "only-target")
      CHECK(r.outcome.action == Outcome::Action::Delete);
    else if (r.outcome.key == "big")
      CHECK(r.outcome.action == Outcome::Action::Fallback);
    else
      CHECK(r.outcome.action == Outcome::Action::Restore);
  }
  CHECK(target.debug_digest() == before);
}

TEST_CASE("copier: target errors are per-key outcomes with the server's text", "[integration]") {
  t::TestServer source;
  t::TestServer target(t::ServerOptions{.maxmemory = "2mb"});
  t::Cmds load = t::letter_values("blob:", 12, 400000);
  for (int i = 0; i < 12; ++i) load.push_back({"SET", "small:" + std::to_string(i), "v"});
  source.pipeline(load);
  Client src(parse_uri(source.uri()), t::quick_client()),
      tgt(parse_uri(target.uri()), t::quick_client());
  for (bool structural : {false, true}) {
    DYNAMIC_SECTION("struct " << structural) {
      CopyOptions o;
      o.structural = structural;
      o.big_bytes = 100000;  // blobs go in chunks too
      o.chunk_bytes = 64 * 1024;
      Copier copier(src, tgt, o);
      auto results = copier.copy(keys_of(source));
      REQUIRE(results.size() == 24);
      int oom = 0;
      for (auto& r : results)
        if (r.outcome.outcome == Outcome::Result::Failed) {
          CHECK(r.outcome.error.starts_with("OOM"));
          ++oom;
        }
      CHECK(oom > 0);
      CHECK(copier.counters().failed == oom);
      CHECK_FALSE(has_temp_keys(target));
    }
  }
}

TEST_CASE("copier: --mem-limit skips big keys as outcomes, never silently", "[integration]") {
  t::TestServer source, target;
  source.pipeline(
      {{"SET", "small", "v"}, {"SET", "large", std::string(300000, 'l')}, {"RPUSH", "list", "a"}});
  Client src(parse_uri(source.uri()), t::quick_client()),
      tgt(parse_uri(target.uri()), t::quick_client());
  CopyOptions o;
  o.mem_limit = 100000;
  Copier copier(src, tgt, o);
  auto results = copier.copy(std::vector<std::string>{"small", "large", "list"});
  for (auto& r : results) {
    if (r.outcome.key == "large") {
      CHECK(r.outcome.outcome == Outcome::Result::Skipped);
      CHECK(r.outcome.detail.find("--mem-limit") != std::string::npos);
    } else {
      CHECK(r.outcome.outcome == Outcome::Result::Copied);
    }
  }
  CHECK(copier.counters().skipped == 1);
  CHECK(target.cmd({"EXISTS", "large"}) == "0");
}

TEST_CASE("copier: a key queued again while in the pipeline is copied once more, after its pass",
          "[integration]") {
  t::TestServer source, target;
  source.pipeline({{"SET", "k", "1"}});
  Client src(parse_uri(source.uri()), t::quick_client()),
      tgt(parse_uri(target.uri()), t::quick_client());
  std::vector<CopyResult> seen;
  Copier copier(src, tgt, CopyOptions{}, [&](std::vector<CopyResult>& rs) {
    for (auto& r : rs) seen.push_back(r);
  });
  copier.add("k");
  copier.step();  // probed
  source.cmd({"SET", "k", "2"});
  const auto at = std::chrono::steady_clock::now();
  copier.add("k", at);  // a change seen while in flight
  CHECK(copier.backlog() == 1);
  copier.drain();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].queued == at);
  CHECK(target.cmd({"GET", "k"}) == "2");
}

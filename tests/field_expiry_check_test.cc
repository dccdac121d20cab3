// Field expiries settled against --ttl-tolerance (compare/field_expiry_check.h):
// the per-field comparison on its own, then compare end to end on Redis 8.0
// servers: a field expiry moved by less than the tolerance is no difference,
// one moved by more is a value difference naming the field and the ms, big
// hashes are checked in chunks, and a target without field expiration
// (Valkey 8.1) keeps its "hash fields with an expiry" difference.
#include "field_expiry_check.h"

#include <catch2/catch_test_macros.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "classify.h"
#include "cli_runner.h"
#include "engines.h"
#include "reader.h"
#include "server_fixture.h"
#include "test_util.h"
#include "uri.h"
#include "value_diff.h"

using namespace migcheck;
namespace t = migcheck::test;
using t::run_migcheck;

namespace {

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// HSET of `fields` fields, and every field i % 3 == 0 expiring at `at` + i.
void hash_with_expiries(t::TestServer& s, const std::string& key, int fields, int64_t at) {
  std::vector<std::vector<std::string>> c;
  std::vector<std::string> hset = {"HSET", key};
  for (int i = 0; i < fields; ++i) {
    hset.push_back("f" + std::to_string(i));
    hset.push_back("v" + std::to_string(i));
  }
  c.push_back(hset);
  for (int i = 0; i < fields; i += 3)
    c.push_back(
        {"HPEXPIREAT", key, std::to_string(at + i), "FIELDS", "1", "f" + std::to_string(i)});
  s.pipeline(c);
}

void expire_at(t::TestServer& s, const std::string& key, const std::string& field, int64_t at) {
  s.cmd({"HPEXPIREAT", key, std::to_string(at), "FIELDS", "1", field});
}

std::string tmp_store(const std::string& name) {
  return migcheck::test::tmp_store("fec", name);
}

}  // namespace

TEST_CASE("field expiry check: per-field deltas within and beyond the tolerance", "[hfe]") {
  FieldExpiryDeltas d(Millis(1000));
  d.add("a", 5000, 100, 5900, 100);   // 900 ms later: within
  d.add("b", 5000, 100, 4000, 99);    // 1001 ms earlier: within? no: beyond
  d.add("c", -1, 100, -1, 100);       // neither expires
  d.add("e", 7000, 100, 7000, 1300);  // same TTL asked 1200 ms later: beyond
  d.add("b", 5000, 100, 4000, 99);    // HSCAN returned b again: counted once
  CHECK(d.beyond() == 2);
  CHECK_FALSE(d.changed());
  REQUIRE(d.detail());
  CHECK(*d.detail() ==
        "field expiry of \"b\": target expires 1001 ms earlier than source (tolerance 1000 ms); "
        "2 fields beyond the tolerance");
  const auto loc = ValueLocation::from_json(d.location_json());
  REQUIRE(loc);
  CHECK(loc->part == "field expiry");
  CHECK(loc->at == "b");
  CHECK(loc->source == "expires in 5000 ms");
  CHECK(loc->target == "expires in 4000 ms");

  FieldExpiryDeltas within(Millis(1000));
  within.add("a", 5000, 100, 6000, 100);  // exactly the tolerance: within
  within.add("b", -1, 100, -1, 100);
  CHECK_FALSE(within.detail());
  CHECK(within.location_json().empty());

  FieldExpiryDeltas lost(Millis(1000));
  lost.add(std::string("k\0\xff", 3), 5000, 100, -1, 100);
  lost.add("x", -1, 100, 300, 100);
  REQUIRE(lost.detail());
  CHECK(*lost.detail() ==
        "field expiry of \"k\\x00\\xFF\": expires on source (in 5000 ms), not on target "
        "(tolerance 1000 ms); 2 fields beyond the tolerance");

  FieldExpiryDeltas changed(Millis(1000));
  changed.add("gone", 5000, 100, -2, 100);
  CHECK(changed.changed());
  REQUIRE(changed.detail());
  CHECK(changed.detail()->find("re-checked next round") != std::string::npos);
  CHECK(changed.location_json().empty());
}

TEST_CASE("field expiry check: classify_key leaves unequal expiries to be settled", "[hfe]") {
  auto hash = [](int64_t expiring, uint64_t expiry_digest) {
    KeyState s;
    s.status = ReadStatus::Ok;
    s.exists = true;
    s.type = ValueType::Hash;
    s.type_name = "hash";
    s.pttl = -1;
    s.digest = Digest128{7, 1};
    s.size = 30;
    s.field_expiries = expiring;
    s.field_expiry_digest = Digest128{expiry_digest, 0};
    return s;
  };
  auto rows = [](const KeyState& s, const KeyState& t) {
    std::vector<Difference> out;
    classify_key("h", 0, 1, s, t, Millis(1000), out);
    return out;
  };
  CHECK(rows(hash(10, 5), hash(10, 5)).empty());
  CHECK(rows(hash(0, 0), hash(0, 0)).empty());
  // As many expiring fields, not the same expiries: left to the check.
  auto r = rows(hash(10, 5), hash(10, 6));
  REQUIRE(r.size() == 1);
  CHECK(r[0].kind == "value");
  CHECK(r[0].detail == kFieldExpiriesUnsettled);
  CHECK(field_expiries_to_settle(hash(10, 5), hash(10, 6)));
  // A different number (a target without field expiration): a difference
  // at once, with the counts, whatever the value digests say.
  r = rows(hash(10, 5), hash(0, 0));
  REQUIRE(r.size() == 1);
  CHECK(r[0].detail == "hash fields with an expiry: 10 on source, 0 on target");
  CHECK_FALSE(field_expiries_to_settle(hash(10, 5), hash(0, 0)));
  // Different values: the value difference as before, nothing to settle.
  KeyState other = hash(10, 6);
  other.digest = Digest128{8, 1};
  CHECK_FALSE(field_expiries_to_settle(hash(10, 5), other));
}

TEST_CASE("field expiry check: compare within and beyond --ttl-tolerance", "[integration][hfe]") {
  const std::string bin = MIGCHECK_REQUIRE_ENGINE("redis-8.0");
  t::TestServer source(t::ServerOptions{.binary = bin}), target(t::ServerOptions{.binary = bin});
  const int64_t at = unix_ms() + 3600 * 1000;
  for (auto* s : {&source, &target}) {
    hash_with_expiries(*s, "h", 30, at);
    hash_with_expiries(*s, "big", 2500, at);
  }
  // Moved by less than the tolerance (as a by-type copy under clock skew
  // leaves them): exactly different, within the tolerance: identical.
  expire_at(target, "h", "f3", at + 3 + 400);
  expire_at(target, "h", "f6", at + 6 - 700);
  expire_at(target, "big", "f2400", at + 2400 + 900);
  const std::string store = tmp_store("within");
  const auto compare = [&](const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"compare",  source.uri(), target.uri(),      "--store", store,
                                     "--rounds", "1",          "--ttl-tolerance", "2s"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_migcheck(args);
  };
  auto r = compare({"--chunk", "100"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);

  // Beyond it: a value difference naming the field and by how much.
  expire_at(target, "h", "f9", at + 9 + 5000);
  expire_at(target, "big", "f1200", at + 1200 - 60000);
  r = compare({"--chunk", "100"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  r = run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  INFO(r.out);
  CHECK(r.out.find("field expiry of \\\"f9\\\": target expires ") != std::string::npos);
  CHECK(r.out.find("ms later than source (tolerance 2000 ms)") != std::string::npos);
  CHECK(r.out.find("field expiry of \\\"f1200\\\": target expires ") != std::string::npos);
  CHECK(r.out.find("ms earlier than source (tolerance 2000 ms)") != std::string::npos);
  CHECK(r.out.find("\"kind\":\"value\"") != std::string::npos);
  CHECK(r.out.find("not checked") == std::string::npos);

  // One expiry moved off a field onto another (as many expiring fields):
  // both fields named in the count.
  target.cmd({"HPERSIST", "h", "FIELDS", "1", "f0"});
  expire_at(target, "h", "f1", at);
  expire_at(target, "h", "f9", at + 9);
  Client sc(parse_uri(source.uri()), ClientOptions{}), tc(parse_uri(target.uri()), ClientOptions{});
  KeyReader sr(sc), tr(tc);
  std::vector<std::string> keys{"h"};
  const KeyState s = sr.read(keys)[0];
  const KeyState tt = tr.read(keys)[0];
  std::vector<Difference> rows;
  classify_key("h", 0, 1, s, tt, Millis(2000), rows);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].detail == kFieldExpiriesUnsettled);
  settle_field_expiry_rows(sc, tc, "h", s, tt, Millis(2000), nullptr, rows, 0, 4);
  REQUIRE(rows.size() == 1);
  INFO(rows[0].detail);
  CHECK(rows[0].detail.find("2 fields beyond the tolerance") != std::string::npos);
  CHECK(rows[0].detail.find(" not on ") != std::string::npos);
  std::filesystem::remove(store);
}

TEST_CASE_METHOD(t::Redis80ToValkey81,
                 "field expiry check: a target without field expiration stays a difference",
                 "[integration][hfe]") {
  hash_with_expiries(source, "h", 30, unix_ms() + 3600 * 1000);
  std::vector<std::string> hset = {"HSET", "h"};
  for (int i = 0; i < 30; ++i) {
    hset.push_back("f" + std::to_string(i));
    hset.push_back("v" + std::to_string(i));
  }
  target.cmd(hset);
  const std::string store = tmp_store("valkey");
  auto r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1",
                         "--ttl-tolerance", "1h"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  r = run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  CHECK(r.out.find("hash fields with an expiry: 10 on source, 0 on target") != std::string::npos);
  std::filesystem::remove(store);
}

TEST_CASE("field expiry check: a by-type copy onto a skewed target compares equal",
          "[integration][hfe]") {
  const std::string bin = MIGCHECK_REQUIRE_ENGINE("redis-8.0");
  // The target's clock 30 s ahead: by-type writes move every field expiry
  // onto it (HPEXPIREAT + the measured skew), so no absolute time is equal.
  t::TestServer source(t::ServerOptions{.binary = bin});
  t::TestServer target(t::ServerOptions{.binary = bin, .clock_offset_ms = 30000});
  hash_with_expiries(source, "h", 30, unix_ms() + 3600 * 1000);
  const std::string store = tmp_store("skew");
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store, "--struct"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto at = [](t::TestServer& s) {
    return s.reply({"HPEXPIRETIME", "h", "FIELDS", "1", "f3"}).elements.at(0).integer;
  };
  CHECK(std::llabs(at(target) - at(source) - 30000) < 1000);
  r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1",
                    "--ttl-tolerance", "1s"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  std::filesystem::remove(store);
}

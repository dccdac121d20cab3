// DistinctDigests: distinct count and sum, in memory and across spilled runs.
#include "spill_set.h"

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli_runner.h"
#include "client.h"
#include "reader.h"
#include "server_fixture.h"
#include "uri.h"

namespace migcheck {
namespace {

bool less(const Digest128& a, const Digest128& b) {
  return std::pair(a.hi, a.lo) < std::pair(b.hi, b.lo);
}

// The digests of `n` elements, each given 1 to 3 times, shuffled.
std::vector<Digest128> with_duplicates(size_t n, DistinctDigests::Result& expect) {
  std::vector<Digest128> all;
  std::mt19937_64 rng(7);
  std::set<Digest128, decltype(&less)> distinct(&less);
  for (size_t i = 0; i < n; ++i) {
    const Digest128 d = set_member_element("member-" + std::to_string(i));
    for (size_t k = 0; k <= rng() % 3; ++k) all.push_back(d);
    distinct.insert(d);
  }
  std::shuffle(all.begin(), all.end(), rng);
  expect = {};
  for (const Digest128& d : distinct) {
    ++expect.count;
    expect.sum += d;
  }
  return all;
}

}  // namespace

TEST_CASE("spill_set: duplicates count once, in memory", "[spill_set]") {
  DistinctDigests::Result expect;
  const auto all = with_duplicates(5000, expect);
  DigestBudget budget;
  DistinctDigests set(&budget);
  for (const Digest128& d : all) set.add(d);
  CHECK(set.runs() == 0);
  CHECK(budget.used == all.size());
  const auto got = set.finish();
  CHECK(got.count == 5000);
  CHECK(got.count == expect.count);
  CHECK(got.sum == expect.sum);
  CHECK(budget.used == 0);
  // Reusable after finish.
  set.add(set_member_element("x"));
  set.add(set_member_element("x"));
  CHECK(set.finish().count == 1);
}

TEST_CASE("spill_set: beyond the budget runs are spilled and merged exactly", "[spill_set]") {
  // 300000 elements in runs of a few thousand: more runs than one merge
  // takes, so the runs are first merged into longer ones.
  for (size_t n : {20000u, 300000u}) {
    INFO(n);
    DistinctDigests::Result expect;
    const auto all = with_duplicates(n, expect);
    DigestBudget budget;
    budget.limit = 1000;
    DistinctDigests set(&budget);
    size_t peak = 0;
    for (const Digest128& d : all) {
      set.add(d);
      peak = std::max(peak, budget.used);
    }
    CHECK(set.runs() >= n / 5000);
    CHECK(peak <= 4096 + 1);  // held in memory: never the whole collection
    const auto got = set.finish();
    CHECK(got.count == n);
    CHECK(got.sum == expect.sum);
    CHECK(set.runs() == 0);
    CHECK(budget.used == 0);
  }
}

TEST_CASE("spill_set: distinct sums give the digest of adding elements one by one", "[spill_set]") {
  CollectionDigest direct(ValueKind::Hash), deduped(ValueKind::Hash);
  DigestBudget budget;
  budget.limit = 1;
  DistinctDigests set(&budget);
  for (int i = 0; i < 10000; ++i) {
    const std::string f = "f" + std::to_string(i), v(static_cast<size_t>(i % 7), '\0');
    direct.add_hash_field(f, v);
    set.add(hash_field_element(f, v));
    if (i % 3 == 0) set.add(hash_field_element(f, v));  // as HSCAN may repeat it
  }
  CHECK(set.runs() > 0);
  const auto r = set.finish();
  deduped.add_elements(r.count, r.sum);
  CHECK(deduped.count() == 10000);
  CHECK(deduped.finish() == direct.finish());
  // A field seen again with another value is another element: it counts.
  set.add(hash_field_element("f", "1"));
  set.add(hash_field_element("f", "2"));
  CHECK(set.finish().count == 2);
}

TEST_CASE("spill_set: sets sharing a budget give it back when cleared", "[spill_set]") {
  DigestBudget budget;
  budget.limit = 100;
  {
    DistinctDigests a(&budget), b(&budget);
    for (int i = 0; i < 50; ++i) a.add(set_member_element(std::to_string(i)));
    for (int i = 0; i < 80; ++i) b.add(set_member_element(std::to_string(i)));
    CHECK(budget.used == 130);
    a.clear();
    CHECK(budget.used == 80);
  }
  CHECK(budget.used == 0);
}

namespace {

// Fills `key` with n elements (field:i/value:i, member:i, score i) in
// batches of 1000 per command, inside the server: a few seconds for millions.
void populate(test::TestServer& s, const std::string& type, const std::string& key, long n) {
  static const char* kScript = R"lua(
    local n, kind = tonumber(ARGV[1]), ARGV[2]
    local cmd = ({hash = 'HSET', set = 'SADD', zset = 'ZADD'})[kind]
    local batch = {}
    for i = 1, n do
      if kind == 'hash' then
        batch[#batch + 1] = 'field:' .. i
        batch[#batch + 1] = 'value:' .. i
      elseif kind == 'set' then
        batch[#batch + 1] = 'member:' .. i
      else
        batch[#batch + 1] = i
        batch[#batch + 1] = 'member:' .. i
      end
      if #batch >= 2000 then
        redis.call(cmd, KEYS[1], unpack(batch))
        batch = {}
      end
    end
    if #batch > 0 then redis.call(cmd, KEYS[1], unpack(batch)) end
    return redis.call('TYPE', KEYS[1])
  )lua";
  s.cmd({"EVAL", kScript, "1", key, std::to_string(n), type});
}

}  // namespace

TEST_CASE("spill_set: a hash read with a spilling budget digests as it does in memory",
          "[spill_set][integration]") {
  test::TestServer server;
  populate(server, "hash", "h", 50000);
  populate(server, "set", "s", 30000);
  Client client(parse_uri(server.uri()), ClientOptions{});
  const std::vector<std::string> keys = {"h", "s"};
  KeyReader roomy(client, ReaderOptions{.chunk = 500});
  const auto a = roomy.read(keys);
  const Digest128 ha = a[0].digest, sa = a[1].digest;
  KeyReader tight(client, ReaderOptions{.chunk = 500, .dedupe_digests = 1});
  const auto b = tight.read(keys);
  for (size_t i = 0; i < 2; ++i) {
    INFO(keys[i]);
    REQUIRE(b[i].status == ReadStatus::Ok);
    CHECK(b[i].chunked);
  }
  CHECK(b[0].size == 50000);
  CHECK(b[1].size == 30000);
  CHECK(b[0].digest == ha);
  CHECK(b[1].digest == sa);
  CollectionDigest expect(ValueKind::Hash);
  for (int i = 1; i <= 50000; ++i)
    expect.add_hash_field("field:" + std::to_string(i), "value:" + std::to_string(i));
  CHECK(ha == expect.finish());
}

TEST_CASE("spill_set: comparing a 2M-field hash, big set and zset stays under 64 MiB",
          "[spill_set][integration][memory]") {
  test::TestServer source, target;
  for (test::TestServer* s : {&source, &target}) {
    populate(*s, "hash", "big:hash", 2000000);
    populate(*s, "set", "big:set", 200000);
    populate(*s, "zset", "big:zset", 200000);
  }
  const auto dir =
      std::filesystem::temp_directory_path() / ("migcheck-spill-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string store = (dir / "s.db").string();
  auto run = [&] {
    test::Spawned proc(
        {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"},
        (dir / "out").string(), (dir / "err").string());
    const int code = proc.wait(std::chrono::seconds(120));
    std::ifstream err(dir / "err");
    std::stringstream e;
    e << err.rdbuf();
    UNSCOPED_INFO("stderr: " << e.str() << "peak RSS " << proc.max_rss_kb() << " KiB");
    return std::pair(code, proc.max_rss_kb());
  };
  auto [same, rss_same] = run();
  CHECK(same == 0);
  CHECK(rss_same > 0);
  CHECK(rss_same < 64 * 1024);

  // One field changed on the target: found, exactly that key.
  target.cmd({"HSET", "big:hash", "field:1234567", "changed"});
  auto [differ, rss_differ] = run();
  CHECK(differ == 1);
  CHECK(rss_differ < 64 * 1024);
  auto d = test::run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  REQUIRE(d.exit_code == 0);
  auto row = nlohmann::json::parse(d.out.substr(0, d.out.find('\n')));
  CHECK(row["key"] == "big:hash");
  CHECK(row["kind"] == "value");
  CHECK(d.out.find('\n') == d.out.size() - 1);  // one row
  CHECK(row["location"]["located"] == false);   // far over the bound
  std::filesystem::remove_all(dir);
}

}  // namespace migcheck

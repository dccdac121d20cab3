// Tests of the key sources (src/scanner.h): the glob matcher, SCAN over a
// real server with MATCH/TYPE and resumable cursors, RANDOMKEY sampling.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client.h"
#include "scan_drain.h"
#include "scanner.h"
#include "server_fixture.h"
#include "uri.h"

using namespace migcheck;
using migcheck::test::TestServer;

TEST_CASE("scanner: glob matching follows Redis MATCH semantics", "[scanner]") {
  CHECK(glob_match("*", ""));
  CHECK(glob_match("user:*", "user:1"));
  CHECK_FALSE(glob_match("user:*", "users:1"));
  CHECK(glob_match("h?llo", "hello"));
  CHECK(glob_match("h[ae]llo", "hallo"));
  CHECK_FALSE(glob_match("h[^e]llo", "hello"));
  CHECK(glob_match("h[a-c]llo", "hbllo"));
  CHECK(glob_match("a\\*b", "a*b"));
  CHECK_FALSE(glob_match("a\\*b", "axb"));
  CHECK(glob_match("*a*b*c*", "xxaxxbxxcxx"));
  CHECK_FALSE(glob_match("*a*b*c*", "xxaxxcxxbxx"));
  CHECK(glob_match(std::string("k\0*", 3), std::string("k\0zz", 4)));
}

TEST_CASE("scanner: SCAN with MATCH and TYPE covers every key; cursors resume",
          "[scanner][integration]") {
  TestServer srv;
  std::vector<std::vector<std::string>> c;
  for (int i = 0; i < 1500; ++i) {
    c.push_back({"SET", "a:" + std::to_string(i), "v"});
    c.push_back({"HSET", "b:" + std::to_string(i), "f", "v"});
  }
  srv.pipeline(c);
  Client client(parse_uri(srv.uri()), ClientOptions{});
  auto scan_all = [&](ScanOptions o) {
    Scanner s(client, o);
    const auto keys = migcheck::test::drain(s);
    CHECK(s.done());
    CHECK(s.keys_seen() == keys.size());
    return std::set<std::string>(keys.begin(), keys.end());
  };
  CHECK(scan_all(ScanOptions{.count = 100}).size() == 3000);
  auto hashes = scan_all(ScanOptions{.type = "hash", .count = 100});
  CHECK(hashes.size() == 1500);
  CHECK(hashes.count("b:7") == 1);
  auto matched = scan_all(ScanOptions{.match = "a:1*", .count = 100});
  CHECK(matched.size() == 1 + 10 + 100 + 500);

  // Stop after a few calls, save the cursors, continue in a new scanner.
  Scanner first(client, ScanOptions{.count = 50});
  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i) REQUIRE(first.next(keys));
  const auto saved = Scanner::cursors_from_json(first.cursors_json());
  REQUIRE(saved.size() == 1);
  CHECK(saved[0].cursor != "0");
  CHECK(saved[0].keys == keys.size());
  Scanner second(client, ScanOptions{.count = 50});
  second.restore(saved);
  migcheck::test::drain(second, keys);
  CHECK(std::set<std::string>(keys.begin(), keys.end()).size() == 3000);
}

TEST_CASE("scanner: RANDOMKEY sampling returns distinct keys and stops on small keyspaces",
          "[scanner][integration]") {
  TestServer srv;
  std::vector<std::vector<std::string>> c;
  for (int i = 0; i < 400; ++i)
    c.push_back({"SET", (i % 2 ? "odd:" : "even:") + std::to_string(i), "v"});
  srv.pipeline(c);
  Client client(parse_uri(srv.uri()), ClientOptions{});
  auto sample = [&](SampleOptions o) {
    Sampler s(client, o);
    auto keys = migcheck::test::drain(s);
    CHECK(s.sampled() == keys.size());
    return keys;
  };
  auto some = sample(SampleOptions{.keys = 50});
  CHECK(some.size() == 50);
  CHECK(std::set<std::string>(some.begin(), some.end()).size() == 50);
  auto all = sample(SampleOptions{.keys = 1000});  // more than there are
  CHECK(all.size() == 400);
  auto odd = sample(SampleOptions{.keys = 30, .match = "odd:*"});
  CHECK(odd.size() == 30);
  for (const auto& k : odd) CHECK(k.rfind("odd:", 0) == 0);
}

TEST_CASE("scanner: RecentKeys drops a repeat within its window and forgets the oldest",
          "[scanner]") {
  RecentKeys r(3);
  CHECK_FALSE(r.seen("a"));
  CHECK_FALSE(r.seen(std::string("b\0", 2)));
  CHECK(r.seen("a"));
  CHECK_FALSE(r.seen("b"));  // "b" is not "b\0"
  CHECK_FALSE(r.seen("c"));  // "a" falls out of the window
  CHECK_FALSE(r.seen("a"));
  CHECK(r.seen("c"));
  RecentKeys none(0);
  CHECK_FALSE(none.seen("x"));
  CHECK_FALSE(none.seen("x"));
}

TEST_CASE("scanner: RecentKeys answers as a plain window of the last distinct keys", "[scanner]") {
  // Against the obvious model (a FIFO of distinct keys), over many random
  // keys from a small alphabet: repeats, evictions and probe runs that wrap.
  for (size_t capacity : {1, 2, 7, 64, 1000}) {
    RecentKeys r(capacity);
    std::deque<std::string> model;
    std::mt19937 rng(static_cast<unsigned>(capacity));
    for (int i = 0; i < 20000; ++i) {
      std::string k = std::to_string(rng() % (3 * capacity + 5));
      if (rng() % 7 == 0) k.push_back('\0');
      const bool expect = std::find(model.begin(), model.end(), k) != model.end();
      REQUIRE(r.seen(k) == expect);
      if (!expect) {
        model.push_back(k);
        if (model.size() > capacity) model.pop_front();
      }
    }
  }
}

TEST_CASE("scanner: a table shrinking during the scan yields each surviving key once",
          "[scanner][integration]") {
  TestServer srv;
  // 100k keys, of which 2,000 survive: deleting the rest makes the server
  // shrink the table (in its cron) while the scan is under way.
  std::vector<std::vector<std::string>> load;
  for (int base = 0; base < 100000; base += 1000) {
    std::vector<std::string> mset{"MSET"};
    for (int i = base; i < base + 1000; ++i) {
      mset.push_back((i % 50 == 0 ? "keep:" : "drop:") + std::to_string(i));
      mset.push_back("v");
    }
    load.push_back(std::move(mset));
  }
  srv.pipeline(load);
  Client client(parse_uri(srv.uri()), ClientOptions{});
  Scanner s(client, ScanOptions{.count = 100});
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) REQUIRE(s.next(keys));
  std::vector<std::vector<std::string>> del;
  for (int base = 0; base < 100000; base += 1000) {
    std::vector<std::string> d{"DEL"};
    for (int i = base; i < base + 1000; ++i)
      if (i % 50 != 0) d.push_back("drop:" + std::to_string(i));
    del.push_back(std::move(d));
  }
  srv.pipeline(del);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few cron runs: the resize
  while (s.next(keys)) {
  }
  std::set<std::string> distinct;
  int keep = 0;
  for (const auto& k : keys) {
    INFO(k);
    CHECK(distinct.insert(k).second);  // never twice
    keep += k.starts_with("keep:");
  }
  CHECK(keep == 2000);  // every key present for the whole scan
  CHECK(s.keys_seen() == keys.size());
  UNSCOPED_INFO("repeats dropped: " << s.repeats_dropped());  // 0 or 1 per shrink
}

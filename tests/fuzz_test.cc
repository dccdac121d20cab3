// Fuzz-style contracts: random bytes fed to the RESP reply parser and random
// strings parsed as URIs and durations never crash, and only the typed errors
// come out (garbage is refused with one); a well-formed reply parses the same
// however its bytes are split; a URI's password is in neither its display
// form nor an error. CI runs these under ASan+UBSan ("[fuzz]").
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "duration.h"
#include "errors.h"
#include "resp.h"
#include "uri.h"

using namespace migcheck;

namespace {

std::string random_bytes(std::mt19937_64& rng, size_t max_len, std::string_view alphabet = {}) {
  std::uniform_int_distribution<size_t> len(0, max_len);
  std::string s(len(rng), '\0');
  for (auto& c : s) {
    c = alphabet.empty() ? static_cast<char>(rng() & 0xff) : alphabet[rng() % alphabet.size()];
  }
  return s;
}

bool same(const Reply& a, const Reply& b) {
  if (a.type != b.type || a.str != b.str || a.integer != b.integer ||
      a.elements.size() != b.elements.size())
    return false;
  for (size_t i = 0; i < a.elements.size(); ++i)
    if (!same(a.elements[i], b.elements[i])) return false;
  return true;
}

// A random well-formed RESP2 reply: its wire bytes appended to `wire`, the
// value they mean returned.
Reply random_reply(std::mt19937_64& rng, std::string& wire, int depth = 0) {
  Reply r;
  switch (rng() % (depth < 3 ? 7 : 5)) {
    case 0:
      r.type = Reply::Type::Status;
      r.str = random_bytes(rng, 20, "abcOK xyz019");
      wire += "+" + r.str + "\r\n";
      break;
    case 1:
      r.type = Reply::Type::Error;
      r.str = random_bytes(rng, 20, "ERR wrong typ1");
      wire += "-" + r.str + "\r\n";
      break;
    case 2:
      r.type = Reply::Type::Integer;
      r.integer = static_cast<int64_t>(rng() >> (1 + rng() % 63));
      if (rng() % 2) r.integer = -r.integer;
      wire += ":" + std::to_string(r.integer) + "\r\n";
      break;
    case 3:  // binary-safe: CR, LF and NUL inside
      r.type = Reply::Type::String;
      r.str = random_bytes(rng, 40);
      wire += "$" + std::to_string(r.str.size()) + "\r\n" + r.str + "\r\n";
      break;
    case 4:
      wire += rng() % 2 ? "$-1\r\n" : "*-1\r\n";
      break;
    default: {
      r.type = Reply::Type::Array;
      const size_t n = rng() % 5;
      wire += "*" + std::to_string(n) + "\r\n";
      for (size_t i = 0; i < n; ++i) r.elements.push_back(random_reply(rng, wire, depth + 1));
    }
  }
  return r;
}

// Feeds `wire` in pieces ending at `cuts` (ascending, the last = size) and
// collects every reply the parser gives.
std::vector<Reply> parse_in_pieces(std::string_view wire, const std::vector<size_t>& cuts) {
  ReplyParser p;
  std::vector<Reply> out;
  size_t from = 0;
  for (size_t cut : cuts) {
    p.feed(wire.substr(from, cut - from));
    from = cut;
    while (auto r = p.next()) out.push_back(std::move(*r));
  }
  return out;
}

// The first byte of every RESP2 and RESP3 reply type.
constexpr std::string_view kTypeBytes = "+-:$*_,#(=>|!%~";

}  // namespace

TEST_CASE("fuzz: a well-formed reply parses the same wherever its bytes are split", "[fuzz]") {
  std::mt19937_64 rng(4242);
  for (int i = 0; i < 300; ++i) {
    std::string wire;
    const Reply expected = random_reply(rng, wire);
    INFO("reply " << i << ": " << expected.summary());
    // Split once at every byte: no reply before the last byte, then exactly it.
    for (size_t cut = 0; cut <= wire.size(); ++cut) {
      ReplyParser p;
      p.feed(std::string_view(wire).substr(0, cut));
      if (cut < wire.size()) {
        REQUIRE_FALSE(p.next().has_value());
        p.feed(std::string_view(wire).substr(cut));
      }
      auto got = p.next();
      REQUIRE(got.has_value());
      REQUIRE(same(*got, expected));
      REQUIRE_FALSE(p.next().has_value());
    }
    // One byte at a time.
    std::vector<size_t> every_byte;
    for (size_t k = 1; k <= wire.size(); ++k) every_byte.push_back(k);
    auto got = parse_in_pieces(wire, every_byte);
    REQUIRE(got.size() == 1);
    REQUIRE(same(got[0], expected));
  }
  // Several replies back to back, in random pieces, come out in order.
  for (int i = 0; i < 200; ++i) {
    std::string wire;
    std::vector<Reply> expected;
    for (size_t n = 1 + rng() % 6; n > 0; --n) expected.push_back(random_reply(rng, wire));
    std::vector<size_t> cuts;
    for (size_t at = 0; at < wire.size();)
      cuts.push_back(at = std::min(wire.size(), at + 1 + rng() % 23));
    auto got = parse_in_pieces(wire, cuts);
    REQUIRE(got.size() == expected.size());
    for (size_t k = 0; k < got.size(); ++k) CHECK(same(got[k], expected[k]));
  }
}

TEST_CASE("fuzz: random bytes as RESP replies", "[fuzz]") {
  std::mt19937_64 rng(12345);
  // Mostly RESP-looking bytes, so the parser gets deep, plus pure noise.
  const std::string_view resp_chars = "+-:$*\r\n0123456789-1abcOK ERR";
  int parsed = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    ReplyParser p;
    std::string input = i % 3 == 0 ? random_bytes(rng, 200) : random_bytes(rng, 200, resp_chars);
    size_t pos = 0;
    bool threw = false;
    // Any exception but ProtocolError escapes and fails the test.
    try {
      while (pos < input.size()) {
        size_t n = 1 + rng() % 17;
        p.feed(std::string_view(input).substr(pos, n));
        pos += n;
        while (auto r = p.next()) {
          (void)r->summary();
          ++parsed;
        }
      }
    } catch (const ProtocolError&) {
      threw = true;
      ++refused;
    }
    // Garbage from its first byte on (no reply type there) is refused.
    if (!input.empty() && kTypeBytes.find(input[0]) == std::string_view::npos) {
      INFO("input " << i);
      CHECK(threw);
    }
  }
  CHECK(parsed > 0);
  CHECK(refused > 0);
}

TEST_CASE("fuzz: deep nesting and huge declared lengths", "[fuzz]") {
  ReplyParser p;
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  // Either the whole nest parses or it is refused with the typed error.
  bool parsed = false, refused = false;
  try {
    p.feed(deep);
    while (p.next()) parsed = true;
  } catch (const ProtocolError&) {
    refused = true;
  }
  CHECK(parsed != refused);
  ReplyParser q;
  // A declared 2 GB bulk must not make the parser allocate it up front.
  q.feed("$2147483647\r\nabc");
  CHECK_FALSE(q.next().has_value());
}

TEST_CASE("fuzz: random strings as URIs and durations", "[fuzz]") {
  std::mt19937_64 rng(777);
  const std::string_view uri_chars = "redis:/[]@%:0123456789abcdefunix?db=.s";
  // The last prefix carries a password that must never be shown.
  const std::string password = "Zq8PassWord";
  const std::string prefixes[] = {"redis://", "rediss://", "unix://",
                                  "",         "redis://[", "redis://u:" + password + "@"};
  int uris = 0, bad_uris = 0, durations = 0, bad_durations = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s =
        prefixes[i % 6] + (i % 4 == 0 ? random_bytes(rng, 60) : random_bytes(rng, 60, uri_chars));
    INFO("URI " << i);
    try {
      Endpoint e = parse_uri(s);
      CHECK(e.display().find(password) == std::string::npos);
      ++uris;
    } catch (const UsageError& e) {
      CHECK(std::string_view(e.what()).find(password) == std::string_view::npos);
      ++bad_uris;
    }
    try {
      (void)parse_duration(random_bytes(rng, 12, "0123456789.mshx-"));
      ++durations;
    } catch (const UsageError&) {
      ++bad_durations;
    }
  }
  CHECK(uris > 0);
  CHECK(bad_uris > 0);
  CHECK(durations > 0);
  CHECK(bad_durations > 0);
  // Well-formed durations mean what they say.
  for (int i = 0; i < 2000; ++i) {
    const int64_t n = static_cast<int64_t>(rng() % 100000);
    const std::pair<std::string_view, int64_t> units[] = {
        {"ms", 1}, {"s", 1000}, {"", 1000}, {"m", 60000}, {"h", 3600000}};
    const auto& [unit, ms] = units[rng() % 5];
    const std::string text = std::to_string(n) + std::string(unit);
    INFO(text);
    CHECK(parse_duration(text) == Millis(n * ms));
  }
}

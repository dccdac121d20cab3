// Fuzz-style robustness: random bytes fed to the RESP reply parser and random
// strings parsed as URIs and durations must never crash; only the typed
// errors may come out. CI runs these under ASan+UBSan ("[fuzz]").
#include <catch2/catch_test_macros.hpp>

#include <random>

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

}  // namespace

TEST_CASE("fuzz: random bytes as RESP replies", "[fuzz]") {
  std::mt19937_64 rng(12345);
  // Mostly RESP-looking bytes, so the parser gets deep, plus pure noise.
  const std::string_view resp_chars = "+-:$*\r\n0123456789-1abcOK ERR";
  for (int i = 0; i < 20000; ++i) {
    ReplyParser p;
    std::string input = i % 3 == 0 ? random_bytes(rng, 200) : random_bytes(rng, 200, resp_chars);
    size_t pos = 0;
    try {
      while (pos < input.size()) {
        size_t n = 1 + rng() % 17;
        p.feed(std::string_view(input).substr(pos, n));
        pos += n;
        while (auto r = p.next()) (void)r->summary();
      }
    } catch (const ProtocolError&) {
    }
  }
  SUCCEED("parser survived random input");
}

TEST_CASE("fuzz: deep nesting and huge declared lengths", "[fuzz]") {
  ReplyParser p;
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  try {
    p.feed(deep);
    while (p.next()) {
    }
  } catch (const ProtocolError&) {
  }
  ReplyParser q;
  // A declared 2 GB bulk must not make the parser allocate it up front.
  q.feed("$2147483647\r\nabc");
  CHECK_FALSE(q.next().has_value());
}

TEST_CASE("fuzz: random strings as URIs and durations", "[fuzz]") {
  std::mt19937_64 rng(777);
  const std::string_view uri_chars = "redis:/[]@%:0123456789abcdefunix?db=.s";
  const char* prefixes[] = {"redis://", "rediss://", "unix://", "", "redis://[", "redis://u:p@"};
  for (int i = 0; i < 20000; ++i) {
    std::string s =
        prefixes[i % 6] + (i % 4 == 0 ? random_bytes(rng, 60) : random_bytes(rng, 60, uri_chars));
    try {
      Endpoint e = parse_uri(s);
      (void)e.display();
    } catch (const UsageError&) {
    }
    try {
      (void)parse_duration(random_bytes(rng, 12, "0123456789.mshx-"));
    } catch (const UsageError&) {
    }
  }
  SUCCEED("URI and duration parsers survived random input");
}

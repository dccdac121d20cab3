// Temporary key names (replicate/slot_tag.h): always in the key's hash slot,
// whatever bytes the key holds, and readable when the key has its own tag.
#include "slot_tag.h"

#include <catch2/catch_test_macros.hpp>

#include <random>
#include <string>
#include <vector>

#include "slot.h"

using namespace migcheck;
using namespace std::string_literals;

TEST_CASE("copier: temporary keys hash to the key's slot, whatever the key") {
  std::vector<std::string> keys = {"",
                                   "a",
                                   "{",
                                   "}",
                                   "{}",
                                   "a{}b",
                                   "}{",
                                   "{a}",
                                   "x{tag}y",
                                   "{}{a}",
                                   "a}b",
                                   "{{a}}",
                                   "{a{b}c}",
                                   std::string(300, 'k'),
                                   "\0\xff{\0}"s,
                                   "{" + std::string(200, 't') + "}rest",
                                   "user:{1000}:cart",
                                   "}}}{"};
  std::mt19937_64 rng(12345);
  const std::string alphabet = "{}a\0\xff"s;
  for (int i = 0; i < 5000; ++i) {
    std::string k;
    const size_t len = rng() % 24;
    for (size_t j = 0; j < len; ++j) k.push_back(alphabet[rng() % alphabet.size()]);
    keys.push_back(k);
  }
  for (const auto& k : keys) {
    const std::string tmp = temp_key_for(k, "u1");
    INFO("key of " << k.size() << " bytes");
    CHECK(key_slot(tmp) == key_slot(k));
    CHECK(tmp.front() == '{');
    CHECK(tmp.ends_with("}migcheck:tmp:u1"));
  }
  // A key's own tag is reused: readable names for the common case.
  CHECK(temp_key_for("user:{1000}:cart", "x") == "{1000}migcheck:tmp:x");
  CHECK(temp_key_for("plain", "x") == "{plain}migcheck:tmp:x");
}

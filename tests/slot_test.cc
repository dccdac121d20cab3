// Unit tests for cluster slot hashing (values from the cluster specification).
#include "slot.h"

#include <catch2/catch_test_macros.hpp>

using namespace migcheck;

TEST_CASE("slot: CRC16 XMODEM reference value") {
  CHECK(crc16_xmodem("123456789") == 0x31C3);
}

TEST_CASE("slot: known key slots") {
  CHECK(key_slot("foo") == 12182);
  CHECK(key_slot("bar") == 5061);
  CHECK(key_slot("") == 0);
}

TEST_CASE("slot: hash tags follow the spec") {
  CHECK(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));
  CHECK(key_slot("{user1000}.following") == key_slot("user1000"));
  CHECK(hash_tag("foo{}{bar}") == "foo{}{bar}");  // empty first tag: whole key
  CHECK(hash_tag("foo{{bar}}zap") == "{bar");     // first { to first } after it
  CHECK(hash_tag("foo{bar}{zap}") == "bar");
  CHECK(hash_tag("no-close{tag") == "no-close{tag");
  std::string bin("a{\0b}c", 6);
  CHECK(hash_tag(bin) == std::string_view("\0b", 2));
}

// Server facts: the RDB versions known per release, and which payload
// versions a target's RESTORE accepts.
#include "server_info.h"

#include <catch2/catch_test_macros.hpp>

using namespace migcheck;

TEST_CASE("server facts: RDB versions of Redis and Valkey releases", "[report]") {
  CHECK(known_rdb_version("redis", "7.0.15") == 10);
  CHECK(known_rdb_version("redis", "7.2.4") == 11);
  CHECK(known_rdb_version("redis", "7.4.2") == 12);
  CHECK(known_rdb_version("redis", "8.0.2") == 12);
  CHECK(known_rdb_version("redis", "8.2.1") == 12);
  CHECK(known_rdb_version("valkey", "7.2.5") == 11);
  CHECK(known_rdb_version("valkey", "8.0.1") == 11);
  CHECK(known_rdb_version("valkey", "8.1.1") == 11);
  CHECK(known_rdb_version("valkey", "9.0.0") == 80);
  CHECK_FALSE(known_rdb_version("redis", "garbage"));
  CHECK(restore_accepts(11, "redis", 12));
  CHECK_FALSE(restore_accepts(12, "valkey", 11));
  CHECK_FALSE(restore_accepts(12, "valkey", 80));
  CHECK(restore_accepts(11, "valkey", 80));
}

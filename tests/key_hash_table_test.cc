// KeyHashTable: lookups after spilling to several sorted runs, duplicates
// kept once, payloads returned intact, absent hashes not found.
#include "key_hash_table.h"

#include <catch2/catch_test_macros.hpp>

#include <string>

using namespace migcheck;

TEST_CASE("key hash table: spilled runs merge into one sorted, searchable table", "[keyhash]") {
  KeyHashTable t(8, 1024);  // 1024 records in memory: 20000 keys make 19 runs
  for (int i = 0; i < 20000; ++i) {
    std::string payload(8, '\0');
    payload.replace(0, std::to_string(i).size(), std::to_string(i));
    t.add(db_key_hash(i % 3, "key:" + std::to_string(i)), payload);
  }
  t.add(db_key_hash(0, "key:0"), "dup");  // the same (db, key) again
  CHECK(t.runs() >= 19);
  t.seal();
  CHECK(t.size() == 20000);
  // One of the two records of the duplicate is kept.
  auto dup = t.find(db_key_hash(0, "key:0"));
  REQUIRE(dup);
  CHECK((dup->substr(0, 3) == "dup" || dup->substr(0, 1) == "0"));
  for (int i = 7; i < 20000; i += 7) {
    auto p = t.find(db_key_hash(i % 3, "key:" + std::to_string(i)));
    REQUIRE(p);
    CHECK(p->size() == 8);
    CHECK(p->substr(0, std::to_string(i).size()) == std::to_string(i));
    // The same name in another db is another key.
    CHECK_FALSE(t.contains(db_key_hash(i % 3 + 1, "key:" + std::to_string(i))));
  }
  CHECK_FALSE(t.contains(db_key_hash(0, "key:20000")));
  CHECK_FALSE(t.contains(Digest128{}));
  CHECK_THROWS(t.add(db_key_hash(0, "late")));
}

TEST_CASE("key hash table: empty and in-memory tables", "[keyhash]") {
  KeyHashTable empty;
  empty.seal();
  CHECK(empty.size() == 0);
  CHECK_FALSE(empty.contains(db_key_hash(0, "a")));

  KeyHashTable small;
  small.add(db_key_hash(0, std::string("bin\0ary", 7)));
  small.seal();
  CHECK(small.contains(db_key_hash(0, std::string("bin\0ary", 7))));
  CHECK_FALSE(small.contains(db_key_hash(0, "bin")));
}

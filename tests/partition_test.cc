// Partition ranges: every slot in exactly one of N partitions, sizes within
// one of each other, the documented formula; K/N parsing; the recorded JSON.
#include <catch2/catch_test_macros.hpp>

#include <vector>

#include "errors.h"
#include "partition.h"
#include "slot.h"

using namespace migcheck;

TEST_CASE("partition: N ranges cover every slot exactly once", "[partition]") {
  for (int n : {1, 2, 3, 7, 10, 100, 16383, 16384}) {
    std::vector<int> owner(kSlots, 0);
    int smallest = kSlots, largest = 0;
    for (int k = 1; k <= n; ++k) {
      const Partition p{k, n, ""};
      CHECK(p.first_slot() == (k - 1) * kSlots / n);
      CHECK(p.end_slot() == k * kSlots / n);
      smallest = std::min(smallest, p.end_slot() - p.first_slot());
      largest = std::max(largest, p.end_slot() - p.first_slot());
      for (int s = p.first_slot(); s < p.end_slot(); ++s) ++owner[static_cast<size_t>(s)];
      if (k == 1) CHECK(p.first_slot() == 0);
      if (k == n) CHECK(p.end_slot() == kSlots);
    }
    for (int c : owner) REQUIRE(c == 1);
    CHECK(smallest >= 1);
    CHECK(largest - smallest <= 1);
  }
  const Partition p{2, 3, ""};
  CHECK(p.text() == "2/3");
  CHECK(p.slots_text() == "5461-10921");
  CHECK(p.contains_slot(5461));
  CHECK_FALSE(p.contains_slot(10922));
  // Keys by their slot, hash tags included (CRC16 of "foo" is slot 12182).
  CHECK(Partition{3, 3, ""}.contains_key("foo"));
  CHECK(Partition{3, 3, ""}.contains_key("{foo}bar"));
  CHECK_FALSE(Partition{1, 3, ""}.contains_key("x{foo}"));
  // No partition: everything.
  CHECK(Partition{}.contains_key("anything"));
  CHECK_FALSE(Partition{}.active());
}

TEST_CASE("partition: K/N parsing", "[partition]") {
  CHECK(parse_partition("1/1") == Partition{1, 1, ""});
  CHECK(parse_partition("3/3") == Partition{3, 3, ""});
  CHECK(parse_partition("16384/16384").first_slot() == 16383);
  for (const char* bad : {"", "1", "0/3", "4/3", "1/0", "-1/3", "1/16385", "a/b", "1/3x", "1/ 3"})
    CHECK_THROWS_AS(parse_partition(bad), UsageError);
}

TEST_CASE("partition: recorded JSON", "[partition]") {
  Partition p{2, 5, "job-7"};
  const auto j = partition_json(p);
  CHECK(j["index"] == 2);
  CHECK(j["count"] == 5);
  CHECK(j["first_slot"] == 3276);
  CHECK(j["last_slot"] == 6552);
  CHECK(j["job"] == "job-7");
  CHECK(partition_from_json(j) == p);
  CHECK_FALSE(partition_from_json(nlohmann::json{{"index", 4}, {"count", 3}}));
  CHECK_FALSE(partition_from_json(nlohmann::json("2/3")));
  CHECK_FALSE(partition_json(Partition{1, 2, ""}).contains("job"));
}

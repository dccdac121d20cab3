// Tests of the ordered committer (src/ordered_commit.h): results finished
// out of order are committed as a prefix of the input, in order; a commit
// that throws keeps its result first in line.
#include <catch2/catch_test_macros.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "ordered_commit.h"

using namespace migcheck;

TEST_CASE("ordered commit: out-of-order results are committed in sequence", "[ordered_commit]") {
  OrderedCommit<std::string> oc;
  std::vector<std::string> committed;
  auto commit = [&](std::string& s) { committed.push_back(s); };
  oc.add(2, "c", commit);
  oc.add(1, "b", commit);
  CHECK(committed.empty());  // 0 is not done: nothing after it is committed
  CHECK(oc.waiting() == 2);
  CHECK(oc.next() == 0);
  oc.add(0, "a", commit);
  CHECK(committed == std::vector<std::string>{"a", "b", "c"});
  CHECK(oc.next() == 3);
  CHECK(oc.waiting() == 0);
  oc.add(4, "e", commit);
  oc.add(3, "d", commit);
  CHECK(committed.back() == "e");
  CHECK(committed.size() == 5);
}

TEST_CASE("ordered commit: a failed commit keeps its result first in line; reset starts over",
          "[ordered_commit]") {
  OrderedCommit<int> oc;
  std::vector<int> committed;
  bool fail = true;
  auto commit = [&](int& v) {
    if (fail && v == 10) throw std::runtime_error("disk full");
    committed.push_back(v);
  };
  oc.add(1, 11, commit);
  CHECK_THROWS_AS(oc.add(0, 10, commit), std::runtime_error);
  CHECK(committed.empty());
  CHECK(oc.next() == 0);
  CHECK(oc.waiting() == 2);
  fail = false;
  oc.add(2, 12, commit);  // the retry commits 0, then 1 and 2 behind it
  CHECK(committed == std::vector<int>{10, 11, 12});
  oc.reset();
  CHECK(oc.next() == 0);
  CHECK(oc.waiting() == 0);
  oc.add(0, 20, commit);
  CHECK(committed.back() == 20);
}

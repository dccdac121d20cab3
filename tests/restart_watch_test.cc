// RestartWatch (src/restart_watch.h): a new run_id at a known address is a
// restart, whether seen live or against a checkpoint's run_ids.
#include "restart_watch.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_exception.hpp>

#include "errors.h"

using migcheck::RestartWatch;

TEST_CASE("restart watch: a new run_id at an address is a restart", "[restart_watch]") {
  RestartWatch w;
  CHECK_FALSE(w.observe("a:1", "r1"));
  CHECK_FALSE(w.observe("a:1", "r1"));
  CHECK_FALSE(w.observe("b:2", "r9"));  // another server
  CHECK(w.restarts() == 0);
  CHECK(w.observe("a:1", "r2"));
  CHECK(w.restarts() == 1);
  CHECK_FALSE(w.observe("a:1", "r2"));  // counted once
  CHECK_FALSE(w.observe("c:3", ""));    // a server that would not say: never a restart
  CHECK_FALSE(w.observe("c:3", ""));
  CHECK(w.restarts() == 1);
  CHECK(w.to_json() == nlohmann::json{{"a:1", "r2"}, {"b:2", "r9"}});
}

TEST_CASE("restart watch: run_ids from a checkpoint, before or after connecting",
          "[restart_watch]") {
  const nlohmann::json saved = {{"a:1", "old"}, {"b:2", "same"}};
  SECTION("loaded first: the next connection tells") {
    RestartWatch w;
    w.load(saved);
    CHECK_FALSE(w.observe("b:2", "same"));
    CHECK(w.observe("a:1", "new"));
    CHECK(w.restarts() == 1);
  }
  SECTION("loaded after connecting: compared at once") {
    RestartWatch w;
    w.observe("a:1", "new");
    w.observe("b:2", "same");
    w.load(saved);
    CHECK(w.restarts() == 1);
    CHECK(w.to_json() == nlohmann::json{{"a:1", "new"}, {"b:2", "same"}});
  }
  SECTION("nothing saved, or not an object") {
    RestartWatch w;
    w.load(nlohmann::json());
    w.load(nlohmann::json::array());
    CHECK(w.restarts() == 0);
  }
}

TEST_CASE("restart watch: a run acts upon a restart once, and gives up past the bound",
          "[restart_watch]") {
  RestartWatch w;
  w.observe("a:1", "r1");
  CHECK_FALSE(w.pending());
  w.observe("a:1", "r2");
  CHECK(w.pending());
  int starts_over = 0;
  w.start_over(starts_over, "the test", "it starts over");
  CHECK(starts_over == 1);
  CHECK_FALSE(w.pending());
  for (int i = 2; i <= migcheck::kMaxStartsOver; ++i) {
    w.observe("a:1", "r" + std::to_string(i + 1));
    w.start_over(starts_over, "the test", "it starts over");
  }
  CHECK(starts_over == migcheck::kMaxStartsOver);
  w.observe("a:1", "last");
  CHECK_THROWS_MATCHES(
      w.start_over(starts_over, "the test", "it starts over"), migcheck::ConnectionError,
      Catch::Matchers::Message("servers restarted 4 times during the test; run it again once "
                               "they are stable"));
  w.acknowledge();
  CHECK_FALSE(w.pending());
}

TEST_CASE("restart watch: a cluster failover counts once, however many clients see it",
          "[restart_watch]") {
  RestartWatch w;
  CHECK(w.failed_over("old-primary", "promoted"));
  CHECK(w.restarts() == 1);
  CHECK(w.pending());
  CHECK_FALSE(w.failed_over("old-primary", "promoted"));  // another client of the run
  CHECK(w.restarts() == 1);
  CHECK(w.failed_over("promoted", "old-primary"));  // failed back: a new event
  CHECK(w.restarts() == 2);
}

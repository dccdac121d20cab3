// Tests of reports/report_model.h: endpoints without passwords.
#include <catch2/catch_test_macros.hpp>

#include <utility>

#include "report_model.h"

using namespace migcheck;

TEST_CASE("report: endpoints lose their passwords", "[report]") {
  // Each endpoint, and what a report shows of it.
  const std::pair<const char*, const char*> cases[] = {
      {"redis://admin:hunter2@10.0.0.5:6379", "redis://admin@10.0.0.5:6379"},
      {"rediss://:hunter2@host:6380/2", "rediss://@host:6380/2"},
      {"redis://user@host:6379", "redis://user@host:6379"},
      {"redis://host:6379/0?x=a@b", "redis://host:6379/0?x=a@b"},
      {"unix:///tmp/redis.sock", "unix:///tmp/redis.sock"},
      {"host:6379", "host:6379"},
  };
  for (const auto& [endpoint, shown] : cases) CHECK(redact_endpoint(endpoint) == shown);
}

// Tests of reports/report_model.h: endpoints without passwords.
#include <catch2/catch_test_macros.hpp>

#include "report_model.h"

using namespace migcheck;

TEST_CASE("report: endpoints lose their passwords", "[report]") {
  CHECK(redact_endpoint("redis://admin:hunter2@10.0.0.5:6379") == "redis://admin@10.0.0.5:6379");
  CHECK(redact_endpoint("rediss://:hunter2@host:6380/2") == "rediss://@host:6380/2");
  CHECK(redact_endpoint("redis://user@host:6379") == "redis://user@host:6379");
  CHECK(redact_endpoint("redis://host:6379/0?x=a@b") == "redis://host:6379/0?x=a@b");
  CHECK(redact_endpoint("unix:///tmp/redis.sock") == "unix:///tmp/redis.sock");
  CHECK(redact_endpoint("host:6379") == "host:6379");
}

// A Sentinel-managed pair for tests: a primary, a replica and 1..n sentinels
// (`redis-server` run as `redis-sentinel`), all real processes on loopback
// (TestServer), with a failover on demand. Like server_fixture.h it talks to
// its servers through the fixture's private client, never through src/.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "server_fixture.h"

namespace migcheck::test {

struct SentinelSetOptions {
  int sentinels = 1;
  ServerOptions data{};  // primary and replica (password: auth-pass too; tls: sentinels too)
  std::string sentinel_password{};                // requirepass of the sentinels
  std::vector<std::string> sentinel_acl_users{};  // ACL rules on the sentinels
};

class TestSentinelSet {
 public:
  explicit TestSentinelSet(SentinelSetOptions opts = {});
  static constexpr const char* kMaster = "mymaster";

  // redis-sentinel://127.0.0.1:P1,...?master=mymaster (no password).
  std::string uri() const;
  std::string sentinel_list() const;  // "127.0.0.1:P1,127.0.0.1:P2"
  TestServer& node(int i) { return *nodes_.at(static_cast<size_t>(i)); }  // 0: first primary
  TestServer& sentinel(int i) { return *sentinels_.at(static_cast<size_t>(i)); }
  int sentinels() const { return static_cast<int>(sentinels_.size()); }
  // The data node the sentinels name as primary now, and the other one.
  TestServer& primary();
  TestServer& replica();
  // Until the replica has the primary's whole replication stream and every
  // sentinel lists it as a healthy replica (what SENTINEL FAILOVER needs).
  void wait_synced(std::chrono::seconds timeout = std::chrono::seconds(20));
  // SENTINEL FAILOVER; returns once every sentinel names the promoted
  // replica and it is a primary. The demoted one stays a primary until
  // Sentinel reconfigures it (about 10 s later), as in production.
  void failover(std::chrono::seconds timeout = std::chrono::seconds(20));

 private:
  int primary_port();
  SentinelSetOptions opts_;
  std::vector<std::unique_ptr<TestServer>> nodes_;
  std::vector<std::unique_ptr<TestServer>> sentinels_;
};

}  // namespace migcheck::test

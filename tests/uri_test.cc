// Unit tests for endpoint URI parsing and redaction.
#include "uri.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include <string>

#include "errors.h"

using namespace migcheck;

namespace {

// The message of the UsageError parse_uri refuses `uri` with; a failure
// when it accepts it.
std::string refusal(const std::string& uri) {
  try {
    parse_uri(uri);
  } catch (const UsageError& e) {
    return e.what();
  }
  FAIL("accepted");
  return {};
}

}  // namespace

TEST_CASE("uri: plain host, port and db") {
  Endpoint e = parse_uri("redis://example.com:6380/3");
  CHECK(e.host == "example.com");
  CHECK(e.port == 6380);
  CHECK(e.db == 3);
  CHECK(e.db_given);
  CHECK_FALSE(e.tls.enabled);
  CHECK(e.display() == "redis://example.com:6380/3");
}

TEST_CASE("uri: defaults and bare host:port") {
  Endpoint e = parse_uri("redis://h");
  CHECK(e.port == 6379);
  CHECK(e.db == 0);
  CHECK_FALSE(e.db_given);
  Endpoint b = parse_uri("10.0.0.1:7000");
  CHECK(b.host == "10.0.0.1");
  CHECK(b.port == 7000);
}

TEST_CASE("uri: user, password, percent-encoding, redaction") {
  Endpoint e = parse_uri("rediss://al%40ice:p%3Ass%2Fw@host:1/0");
  CHECK(e.tls.enabled);
  CHECK(e.user == "al@ice");
  CHECK(e.password == "p:ss/w");
  CHECK(e.display() == "rediss://al@ice@host:1");
  CHECK(e.display().find("p:ss") == std::string::npos);
  Endpoint p = parse_uri("redis://:secret@h:2");
  CHECK(p.user.empty());
  CHECK(p.password == "secret");
  Endpoint q = parse_uri("redis://secret@h");
  CHECK(q.password == "secret");
  CHECK(q.display() == "redis://h:6379");
}

TEST_CASE("uri: IPv6 literal") {
  Endpoint e = parse_uri("redis://[::1]:6390/2");
  CHECK(e.host == "::1");
  CHECK(e.port == 6390);
  CHECK(e.db == 2);
  CHECK(e.address() == "[::1]:6390");
  CHECK(parse_uri("redis://[fe80::1]").port == 6379);
}

TEST_CASE("uri: unix socket") {
  Endpoint e = parse_uri("unix:///tmp/redis.sock");
  CHECK(e.is_unix());
  CHECK(e.unix_path == "/tmp/redis.sock");
  CHECK(parse_uri("unix:///tmp/r.sock?db=4").db == 4);
  CHECK(e.display() == "unix:///tmp/redis.sock");
}

TEST_CASE("uri: malformed input is a UsageError without the password") {
  const std::string b =
      GENERATE(as<std::string>{}, "", "http://h", "redis://", "redis://h:0", "redis://h:99999",
               "redis://h:12x", "redis://h/abc", "redis://[::1", "redis://::1:80",
               "unix://relative", "redis://u:pw@h:bad", "redis://%zz@h", "redis://h /0");
  INFO(b);
  CHECK(refusal(b).find("pw") == std::string::npos);
}

TEST_CASE("uri: sentinel, several sentinels, IPv6, db, credentials") {
  Endpoint e = parse_uri("redis-sentinel://us%40er:p%3Aw@s1:26380,[::1],s3/2?master=mymaster");
  REQUIRE(e.is_sentinel());
  REQUIRE(e.sentinels.size() == 3);
  CHECK(e.sentinels[0].host == "s1");
  CHECK(e.sentinels[0].port == 26380);
  CHECK(e.sentinels[1].host == "::1");
  CHECK(e.sentinels[1].port == 26379);
  CHECK(e.sentinels[2].address() == "s3:26379");
  CHECK(e.sentinel_master == "mymaster");
  CHECK(e.db == 2);
  CHECK(e.db_given);
  CHECK(e.user == "us@er");
  CHECK(e.password == "p:w");
  CHECK_FALSE(e.tls.enabled);
  CHECK(e.host.empty());  // the sentinels say where the primary is
  CHECK(e.display() == "redis-sentinel://us@er@s1:26380,[::1]:26379,s3:26379/2?master=mymaster");
  CHECK(e.display().find("p:w") == std::string::npos);
  // One name for whichever node is primary (restart detection, cursors).
  CHECK(e.address() == "sentinel:mymaster@s1:26380,[::1]:26379,s3:26379");
}

TEST_CASE("uri: sentinelMasterId (RIOT-X), rediss-sentinel, percent-encoded name") {
  Endpoint e = parse_uri("rediss-sentinel://h?sentinelMasterId=m%201");
  CHECK(e.tls.enabled);
  CHECK(e.sentinel_master == "m 1");
  CHECK(e.sentinels.size() == 1);
  CHECK(e.db == 0);
  CHECK_FALSE(e.db_given);
  CHECK(e.display() == "rediss-sentinel://h:26379?master=m 1");
  Endpoint p = parse_uri("redis-sentinel://:secret@h:1?master=x");
  CHECK(p.password == "secret");
  CHECK(p.user.empty());
  // A plain URI is not a sentinel one.
  CHECK_FALSE(parse_uri("redis://h").is_sentinel());
}

TEST_CASE("uri: malformed sentinel URIs are one-line UsageErrors without the password") {
  const std::string b = GENERATE(as<std::string>{},
                                 "redis-sentinel://u:pw@h",               // no master
                                 "redis-sentinel://u:pw@h?master=",       // empty master
                                 "redis-sentinel://u:pw@?master=m",       // no sentinel
                                 "redis-sentinel://u:pw@h,,h2?master=m",  // empty entry
                                 "redis-sentinel://u:pw@h:0?master=m",    // bad port
                                 "redis-sentinel://u:pw@h:1/x?master=m",  // bad db
                                 "redis-sentinel://u:pw@[::1?master=m",   // bad IPv6
                                 "redis-sentinel://u:pw@h?master=m&x=1",  // unknown parameter
                                 "redis-sentinel://u:pw@h?masterName=m",  // unknown parameter
                                 "redis-sentinel://u:pw@h?master=%zz",    // bad escape
                                 "redis-sentinels://u:pw@h?master=m");    // scheme
  INFO(b);
  const std::string what = refusal(b);
  CHECK(what.find("pw") == std::string::npos);
  CHECK(what.find('\n') == std::string::npos);
}

TEST_CASE("uri: snapshot files are recognised as file:///path or a path", "[uri][rdb]") {
  CHECK(snapshot_path("file:///tmp/dump.rdb") == "/tmp/dump.rdb");
  CHECK(snapshot_path("file:///tmp/my%20dump") == "/tmp/my dump");
  CHECK(snapshot_path("dump.rdb") == "dump.rdb");
  CHECK(snapshot_path("/var/lib/redis/dump") == "/var/lib/redis/dump");
  CHECK(snapshot_path("./snap") == "./snap");
  CHECK_FALSE(snapshot_path("redis://h:1/0"));
  CHECK_FALSE(snapshot_path("localhost:6379"));
  CHECK_FALSE(snapshot_path("cache.example.com"));
  CHECK_FALSE(snapshot_path("unix:///tmp/redis.sock"));
  CHECK_THROWS_AS(snapshot_path("file://host/dump.rdb"), UsageError);
}

// The engine a test needs, by name ("redis-8.0", "valkey-8.1"...; see
// engine_binary() in server_fixture.h): its ServerOptions, or the test is
// skipped when the engine is not installed (scripts/test_engines.sh) and
// fails under CI=true, where a missing engine is a setup error.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <string>

#include "server_fixture.h"

namespace migcheck::test {

#define MIGCHECK_REQUIRE_ENGINE(engine)                                                  \
  [&] {                                                                                  \
    std::string bin_ = ::migcheck::test::engine_binary(engine);                          \
    if (bin_.empty()) {                                                                  \
      if (::migcheck::test::missing_engine_is_error())                                   \
        FAIL("engine " << (engine) << " is not installed: run scripts/test_engines.sh"); \
      SKIP("engine " << (engine) << " is not installed: run scripts/test_engines.sh");   \
    }                                                                                    \
    return bin_;                                                                         \
  }()

// A source and a target server on two engines; both engines are required
// (MIGCHECK_REQUIRE_ENGINE) before either server starts. Use:
//   auto servers = MIGCHECK_ENGINE_PAIR("redis-8.0", "valkey-8.1");
//   auto& [source, target] = servers;
#define MIGCHECK_ENGINE_PAIR(src_engine, tgt_engine)                \
  ::migcheck::test::EnginePair(MIGCHECK_REQUIRE_ENGINE(src_engine), \
                               MIGCHECK_REQUIRE_ENGINE(tgt_engine))

struct EnginePair {
  TestServer source;
  TestServer target;
  EnginePair(const std::string& source_binary, const std::string& target_binary)
      : source(ServerOptions{.binary = source_binary}),
        target(ServerOptions{.binary = target_binary}) {}
};

// The pair the tests of what Redis 8 has and Valkey 8.1 lacks (vector sets,
// hash field expiry) start from: a Redis 8.0 source and a Valkey 8.1 target.
// A TEST_CASE_METHOD fixture.
struct Redis80ToValkey81 : EnginePair {
  Redis80ToValkey81()
      : EnginePair(MIGCHECK_REQUIRE_ENGINE("redis-8.0"), MIGCHECK_REQUIRE_ENGINE("valkey-8.1")) {}
};

}  // namespace migcheck::test

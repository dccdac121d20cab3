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

}  // namespace migcheck::test

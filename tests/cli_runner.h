// Runs the built migcheck binary for end-to-end tests.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "server_fixture.h"

namespace migcheck::test {

inline ProcessResult run_migcheck(std::vector<std::string> args,
                                  const std::vector<std::pair<std::string, std::string>>& env = {},
                                  std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  args.insert(args.begin(), MIGCHECK_BINARY);
  return run_process(args, timeout, env);
}

}  // namespace migcheck::test

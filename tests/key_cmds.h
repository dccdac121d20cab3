// SET commands for numbered test keys (prefix + i), the data set most
// integration tests load into a test server with TestServer::pipeline.
#pragma once

#include <string>
#include <vector>

namespace migcheck::test {

// {"SET", prefix + i, value} for every i in [0, n).
inline std::vector<std::vector<std::string>> set_cmds(const std::string& prefix, int n,
                                                      const std::string& value = "v") {
  std::vector<std::vector<std::string>> c;
  for (int i = 0; i < n; ++i) c.push_back({"SET", prefix + std::to_string(i), value});
  return c;
}

}  // namespace migcheck::test

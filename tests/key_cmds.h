// Commands a test loads into a server (Cmds: one command's words per row, as
// TestServer::pipeline takes them) and the SET commands for numbered test
// keys (prefix + i), the data set most integration tests load.
#pragma once

#include <string>
#include <vector>

namespace migcheck::test {

using Cmds = std::vector<std::vector<std::string>>;

// {"SET", prefix + i, value} for every i in [0, n).
inline Cmds set_cmds(const std::string& prefix, int n, const std::string& value = "v") {
  Cmds c;
  for (int i = 0; i < n; ++i) c.push_back({"SET", prefix + std::to_string(i), value});
  return c;
}

}  // namespace migcheck::test

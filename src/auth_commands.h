// The AUTH command an endpoint's credentials call for, sent first by every
// connection that authenticates (data nodes, sentinels, the live subscriber).
#pragma once

#include <vector>

#include "resp.h"
#include "uri.h"

namespace migcheck {

// AUTH [user] password; none when the endpoint has no password.
inline std::vector<Command> auth_commands(const Endpoint& ep) {
  if (ep.password.empty()) return {};
  if (ep.user.empty()) return {{"AUTH", ep.password}};
  return {{"AUTH", ep.user, ep.password}};
}

}  // namespace migcheck

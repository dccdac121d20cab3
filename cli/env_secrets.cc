// Taking passwords out of the environment: see env_secrets.h.
#include "env_secrets.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

extern char** environ;

namespace migcheck {
namespace {

std::mutex g_mu;
std::map<std::string, std::string, std::less<>> g_taken;

// Overwrites the "NAME=value" entry's bytes where they live (for the initial
// environment, the block the kernel shows as /proc/PID/environ), then drops
// it from the environment. unsetenv alone only unlinks the pointer.
void wipe(const char* name) {
  const size_t len = std::strlen(name);
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, name, len) == 0 && (*e)[len] == '=') {
      char* value = *e + len + 1;
      std::memset(value, 0, std::strlen(value));
    }
  }
  ::unsetenv(name);
}

}  // namespace

std::vector<std::string> take_env_secrets() {
  std::lock_guard lock(g_mu);
  std::vector<std::string> values;
  for (const char* name : kSecretEnvVars) {
    const char* v = std::getenv(name);
    if (!v) continue;
    std::string value(v);
    wipe(name);
    if (!value.empty()) values.push_back(value);
    g_taken[name] = std::move(value);
  }
  return values;
}

std::optional<std::string> env_secret(std::string_view name) {
  // Set again since it was taken (only tests do that): the current value.
  if (const char* v = std::getenv(std::string(name).c_str()); v && *v) return std::string(v);
  std::lock_guard lock(g_mu);
  if (auto it = g_taken.find(name); it != g_taken.end() && !it->second.empty()) return it->second;
  return std::nullopt;
}

}  // namespace migcheck

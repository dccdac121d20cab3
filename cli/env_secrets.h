// Passwords given in the environment (MIGCHECK_SOURCE_PASS,
// MIGCHECK_TARGET_PASS and the _SENTINEL_PASS pair): main() takes them first thing, removes them
// from the environment and overwrites their bytes, so they are not readable in /proc/PID/environ
// (or by child processes) for the whole run.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migcheck {

// The environment variables migcheck reads passwords from.
inline constexpr const char* kSecretEnvVars[] = {"MIGCHECK_SOURCE_PASS", "MIGCHECK_TARGET_PASS",
                                                 "MIGCHECK_SOURCE_SENTINEL_PASS",
                                                 "MIGCHECK_TARGET_SENTINEL_PASS"};

// Reads every variable of kSecretEnvVars into this process's memory, then
// wipes its "NAME=value" bytes in place and unsets it. Returns the values
// taken (for redaction). Idempotent: a second call finds nothing new.
std::vector<std::string> take_env_secrets();

// The variable's current value, else the value take_env_secrets() took;
// nullopt when neither is set and non-empty.
std::optional<std::string> env_secret(std::string_view name);

}  // namespace migcheck

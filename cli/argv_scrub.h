// Hides passwords given on the command line from the process title
// (/proc/PID/cmdline, ps): main() overwrites them in place first thing, and
// parses a copy; messages about the command line are redacted with them.
#pragma once

#include <string>
#include <vector>

namespace migcheck {

// Overwrites with '*' the password of every URI argument
// (scheme://user:PASSWORD@host) and the value of --source-pass/--target-pass
// (as the next argument or after '='). Lengths are kept, so the kernel's view
// of argv stays consistent. Returns the secrets it masked.
std::vector<std::string> scrub_argv(int argc, char** argv);

// `text` with every occurrence of each non-empty secret replaced by "***".
std::string redact(std::string text, const std::vector<std::string>& secrets);

}  // namespace migcheck

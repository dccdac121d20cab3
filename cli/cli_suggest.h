// What the command line parser cannot say well by itself: an unknown command
// or option named with the nearest real one, and the flag names RIOT-X users
// type, accepted as ours. Runs on the arguments before CLI11 parses them.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace migcheck {

// The named commands of `app`, and every option of a command, those of its
// option groups included (CLI11 keeps groups as nameless subcommands).
std::vector<const CLI::App*> named_commands(const CLI::App& app);
std::vector<const CLI::Option*> all_options(const CLI::App& command);

// The nearest of `candidates` to `word` when it is close enough to be a typo
// (Levenshtein distance within a third of its length, at least 2), else "".
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);

// Rewrites RIOT-X flag names to migcheck's (--key-pattern -> --match ...) and
// throws UsageError naming an unknown command or option of `app`, with the
// nearest real one. args[0] is the program name.
void check_command_line(const CLI::App& app, std::vector<std::string>& args);

}  // namespace migcheck

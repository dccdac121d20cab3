// Placeholder registration, replaced by the real command.
#include "commands.h"
namespace migcheck {
void add_diffs_command(CLI::App& app, Runner&) { app.add_subcommand("diffs", "(not built yet)"); }
}  // namespace migcheck

// Placeholder registration, replaced by the real command.
#include "commands.h"
namespace migcheck {
void add_replicate_command(CLI::App& app, Runner&) { app.add_subcommand("replicate", "(not built yet)"); }
}  // namespace migcheck

// Placeholder registration, replaced by the real command.
#include "commands.h"
namespace migcheck {
void add_repair_command(CLI::App& app, Runner&) { app.add_subcommand("repair", "(not built yet)"); }
}  // namespace migcheck

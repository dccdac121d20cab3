// Placeholder registration, replaced by the real command.
#include "commands.h"
namespace migcheck {
void add_compare_command(CLI::App& app, Runner&) { app.add_subcommand("compare", "(not built yet)"); }
}  // namespace migcheck

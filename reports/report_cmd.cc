// Placeholder registration, replaced by the real command.
#include "commands.h"
namespace migcheck {
void add_report_command(CLI::App& app, Runner&) { app.add_subcommand("report", "(not built yet)"); }
}  // namespace migcheck

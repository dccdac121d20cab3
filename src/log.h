// Logging to stderr: warnings and errors always, info unless --quiet.
// Thread-safe; never given secrets (callers pass Endpoint::display()).
#pragma once

#include <string_view>

namespace migcheck::log {

void set_quiet(bool quiet);
bool quiet();
void set_verbose(bool verbose);
bool verbose();

void info(std::string_view msg);
void warn(std::string_view msg);
void error(std::string_view msg);
void debug(std::string_view msg);  // only with --verbose

// Progress lines share stderr: a TTY progress line is erased before a log
// line is printed, and redrawn by the next progress tick.
void progress_line(std::string_view line, bool is_final);

}  // namespace migcheck::log

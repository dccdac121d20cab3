// Hides passwords given on the command line from the process title
// (/proc/PID/cmdline, ps): they are overwritten in place after parsing.
#pragma once

namespace migcheck {

// Overwrites with '*' the password of every URI argument
// (scheme://user:PASSWORD@host) and the value of --source-pass/--target-pass
// (as the next argument or after '='). Lengths are kept, so the kernel's view
// of argv stays consistent.
void scrub_argv(int argc, char** argv);

}  // namespace migcheck

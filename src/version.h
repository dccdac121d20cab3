// What `migcheck --version` says: the release, the commit it was built from,
// the build type and compiler, and the libraries it runs with, so that a bug
// report or a change ticket names the exact build.
#pragma once

#include <string>

namespace migcheck {

std::string version_text();

}  // namespace migcheck

// Access to the files of reports/assets/, compiled into the binary by
// cmake/embed.cmake so reports never depend on files found at run time.
#pragma once

#include <string_view>

namespace migcheck {

// The bytes of reports/assets/<filename>; an empty view for unknown names.
std::string_view asset(std::string_view filename);

}  // namespace migcheck

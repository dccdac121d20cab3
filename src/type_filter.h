// The key types `--type` may name (what TYPE answers for the core data
// types). An unknown name is refused before a run starts: SCAN would refuse
// it only later, leaving a failed "resumable" run behind.
#pragma once

#include <array>
#include <string_view>

namespace migcheck {

inline constexpr std::array<std::string_view, 6> kKeyTypes = {"string", "list", "set",
                                                              "zset",   "hash", "stream"};

// Throws UsageError (exit 2) naming the accepted types unless `type`
// (lower case) is one of kKeyTypes.
void refuse_unknown_type(std::string_view type);

}  // namespace migcheck

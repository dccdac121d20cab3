// Exit codes, diff(1) style: what every command and engine returns.
#pragma once

namespace migcheck {

inline constexpr int kExitSame = 0;
inline constexpr int kExitDiffer = 1;
inline constexpr int kExitError = 2;

}  // namespace migcheck

// Durations ("500ms", "5s", "2m", "1h", bare number = seconds) and sizes
// ("512", "64kb", "10mb", "1gb") as the CLI accepts them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace migcheck {

using Millis = std::chrono::milliseconds;

// Throws UsageError naming the bad text.
Millis parse_duration(std::string_view text);
uint64_t parse_size(std::string_view text);

// "1.25s", "3m04s", "850ms": for progress lines and summaries.
std::string format_duration(Millis d);
// "1.5 MiB"
std::string format_bytes(uint64_t bytes);

}  // namespace migcheck

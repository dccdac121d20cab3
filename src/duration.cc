// Parsing and printing of durations and byte sizes.
#include "duration.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "errors.h"

namespace migcheck {
namespace {

// Splits "12.5ms" into 12.5 and "ms"; rejects empty, negative and non-finite numbers.
std::pair<double, std::string> split_number(std::string_view text, const char* what) {
  std::string t(text);
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  std::string num = t.substr(0, i), unit = t.substr(i);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double v = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (num.empty() || ec != std::errc() || p != num.data() + num.size() || !std::isfinite(v))
    throw UsageError(std::string("invalid ") + what + " '" + t + "'");
  return {v, unit};
}

}  // namespace

Millis parse_duration(std::string_view text) {
  auto [v, unit] = split_number(text, "duration");
  double ms;
  if (unit.empty() || unit == "s")
    ms = v * 1000;
  else if (unit == "ms")
    ms = v;
  else if (unit == "m")
    ms = v * 60'000;
  else if (unit == "h")
    ms = v * 3'600'000;
  else
    throw UsageError("invalid duration '" + std::string(text) + "' (use ms, s, m or h)");
  if (ms > 1e15) throw UsageError("duration '" + std::string(text) + "' is too large");
  return Millis(static_cast<int64_t>(std::llround(ms)));
}

uint64_t parse_size(std::string_view text) {
  auto [v, unit] = split_number(text, "size");
  double mult;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    mult = 1024.0;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    mult = 1024.0 * 1024 * 1024;
  else
    throw UsageError("invalid size '" + std::string(text) + "' (use b, kb, mb or gb)");
  double bytes = v * mult;
  if (bytes > 1e18) throw UsageError("size '" + std::string(text) + "' is too large");
  return static_cast<uint64_t>(bytes);
}

std::string format_duration(Millis d) {
  int64_t ms = d.count();
  char buf[64];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(ms) / 1000.0);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms / 1000 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms / 60'000 % 60));
  }
  return buf;
}

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace migcheck

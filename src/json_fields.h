// JSON fields that several outputs write the same way, for nlohmann::json
// and ordered_json alike: a binary-safe key, and a difference row's fields
// (diffs --format jsonl, the report's samples).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "encoding.h"
#include "store.h"

namespace migcheck {

// {"key": text} when valid UTF-8, else {"key_base64": ...}, into `j`.
template <typename Json>
void put_binary_key(Json& j, std::string_view key) {
  if (is_valid_utf8(key))
    j["key"] = std::string(key);
  else
    j["key_base64"] = base64_encode(key);
}

// What a difference row says of each side, in this order: its kind, then
// the types, TTLs and sizes.
template <typename Json>
void put_difference_sides(Json& j, const Difference& d) {
  using Text = std::string Difference::*;
  using Number = int64_t Difference::*;
  static constexpr std::pair<const char*, Text> kTexts[] = {
      {"kind", &Difference::kind},
      {"source_type", &Difference::source_type},
      {"target_type", &Difference::target_type}};
  static constexpr std::pair<const char*, Number> kNumbers[] = {
      {"source_ttl_ms", &Difference::source_ttl_ms},
      {"target_ttl_ms", &Difference::target_ttl_ms},
      {"source_size", &Difference::source_size},
      {"target_size", &Difference::target_size}};
  for (const auto& [name, field] : kTexts) j[name] = d.*field;
  for (const auto& [name, field] : kNumbers) j[name] = d.*field;
}

}  // namespace migcheck

// classify_key: what a key's two states make of it (missing, extra, type,
// ttl, value). Shared by compare's rounds and repair's re-check.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "duration.h"
#include "reader.h"
#include "store.h"

namespace migcheck {

// The difference rows (0, 1 or 2) of one key given both sides' states.
// `round`, `db` and `key` are copied into the rows.
// A hash whose fields and values are equal on both sides, with as many
// expiring fields, whose field expiries are not exactly equal: classify_key
// gives it a value row with this detail, which only a field-by-field check
// against the tolerance (settle_field_expiry_rows) removes or makes precise.
inline constexpr std::string_view kFieldExpiriesUnsettled =
    "field expiries differ (not checked against --ttl-tolerance)";
inline bool field_expiries_to_settle(const KeyState& s, const KeyState& t) {
  return s.status == ReadStatus::Ok && t.status == ReadStatus::Ok && s.exists && t.exists &&
         s.type == ValueType::Hash && t.type == ValueType::Hash && s.digest == t.digest &&
         s.field_expiries == t.field_expiries && s.field_expiry_digest != t.field_expiry_digest;
}

void classify_key(std::string_view key, int db, int round, const KeyState& source,
                  const KeyState& target, Millis ttl_tolerance, std::vector<Difference>& out);

}  // namespace migcheck

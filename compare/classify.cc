// The difference rows of one key from both sides' states: the one place that
// decides what counts as a difference (kind, detail, TTL tolerance).
#include "classify.h"

#include <cstdlib>

namespace migcheck {
namespace {

std::string ttl_text(const KeyState& s) {
  if (!s.exists) return "absent";
  if (s.pttl < 0) return "no expiry";
  return "expires in " + std::to_string(s.pttl) + " ms";
}

}  // namespace

void classify_key(std::string_view key, int db, int round, const KeyState& s, const KeyState& t,
                  Millis ttl_tolerance, std::vector<Difference>& out) {
  auto row = [&](std::string_view kind) -> Difference& {
    Difference& d = out.emplace_back();
    d.round = round;
    d.db = db;
    d.key.assign(key);
    d.kind.assign(kind);
    d.source_type = s.exists ? s.type_name : "none";
    d.target_type = t.exists ? t.type_name : "none";
    d.source_ttl_ms = s.exists ? s.pttl : -2;
    d.target_ttl_ms = t.exists ? t.pttl : -2;
    if (s.status == ReadStatus::Ok && s.exists && !s.digest.is_zero())
      d.source_digest = s.digest.hex();
    if (t.status == ReadStatus::Ok && t.exists && !t.digest.is_zero())
      d.target_digest = t.digest.hex();
    d.source_size = s.exists ? s.size : -1;
    d.target_size = t.exists ? t.size : -1;
    return d;
  };
  if (s.status == ReadStatus::Error || t.status == ReadStatus::Error) {
    Difference& d = row(kKindValue);
    d.detail = "cannot read the key: ";
    if (s.status == ReadStatus::Error) d.detail += "source " + s.detail;
    if (t.status == ReadStatus::Error)
      d.detail += std::string(s.status == ReadStatus::Error ? "; " : "") + "target " + t.detail;
    return;
  }
  if (!s.exists && !t.exists) return;
  if (s.exists && !t.exists) {
    row(kKindMissing).detail = t.status == ReadStatus::Unstable ? "target " + t.detail : "";
    return;
  }
  if (!s.exists && t.exists) {
    row(kKindExtra).detail = s.status == ReadStatus::Unstable ? "source " + s.detail : "";
    return;
  }
  if (s.type_name != t.type_name) {
    row(kKindType).detail = "source " + s.type_name + ", target " + t.type_name;
    return;
  }
  if (s.has_expiry() != t.has_expiry()) {
    row(kKindTtl).detail = "source " + ttl_text(s) + ", target " + ttl_text(t);
  } else if (s.has_expiry()) {
    const int64_t delta = t.expire_at_ms - s.expire_at_ms;
    if (std::llabs(delta) > ttl_tolerance.count())
      row(kKindTtl).detail = "target expires " + std::to_string(std::llabs(delta)) + " ms " +
                             (delta > 0 ? "later" : "earlier") + " than source (tolerance " +
                             std::to_string(ttl_tolerance.count()) + " ms)";
  }
  if (s.status == ReadStatus::Unstable || t.status == ReadStatus::Unstable) {
    Difference& d = row(kKindValue);
    d.detail = s.status == ReadStatus::Unstable ? "source " + s.detail : "target " + t.detail;
    d.detail += "; re-checked next round";
    return;
  }
  const bool expiry_counts_differ = s.field_expiries != t.field_expiries;
  if (s.digest != t.digest || expiry_counts_differ) {
    Difference& d = row(kKindValue);
    if (s.size != t.size)
      d.detail =
          "size " + std::to_string(s.size) + " on source, " + std::to_string(t.size) + " on target";
    else if (expiry_counts_differ)
      d.detail = "hash fields with an expiry: " + std::to_string(s.field_expiries) +
                 " on source, " + std::to_string(t.field_expiries) + " on target";
    else if (s.type == ValueType::Other && s.type_name != "vectorset")
      d.detail = "DUMP bodies differ (module type " + s.type_name +
                 ": compared by its DUMP body, not semantically)";
  } else if (field_expiries_to_settle(s, t)) {
    // Same fields and values, as many expiring fields, some expiry not
    // exactly equal: settle_field_expiry_rows() (field_expiry_check.h)
    // decides against the tolerance, field by field.
    row(kKindValue).detail = std::string(kFieldExpiriesUnsettled);
  }
}

}  // namespace migcheck

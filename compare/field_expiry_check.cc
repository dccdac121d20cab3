// Field-by-field check of a hash's field expiries within the TTL tolerance.
#include "field_expiry_check.h"

#include <cstdlib>

#include "classify.h"
#include "printable.h"
#include "value_diff.h"

namespace migcheck {
namespace {

std::string ttl_words(int64_t ttl) {
  return ttl >= 0 ? "expires in " + std::to_string(ttl) + " ms" : std::string("no expiry");
}

// HSCAN's reply -> its cursor and field names; false when malformed.
bool scan_fields(const Reply& r, std::string& cursor, std::vector<std::string>& fields) {
  if (!r.is_array() || r.elements.size() != 2 || !r.elements[1].is_array()) return false;
  cursor = r.elements[0].str;
  const auto& items = r.elements[1].elements;
  for (size_t k = 0; k + 1 < items.size(); k += 2) fields.push_back(items[k].str);
  return true;
}

bool ttl_reply_ok(const Reply& r, size_t n) {
  if (!r.is_array() || r.elements.size() != n) return false;
  for (const Reply& e : r.elements)
    if (!e.is_integer()) return false;
  return true;
}

}  // namespace

std::string FieldExpiryDeltas::shown(std::string_view field) const {
  if (field.size() <= shown_) return printable_bytes(field);
  return printable_bytes(field.substr(0, shown_)) + "...";
}

void FieldExpiryDeltas::add(std::string_view field, int64_t source_ttl, int64_t source_at,
                            int64_t target_ttl, int64_t target_at) {
  if (source_ttl == -2 || target_ttl == -2) {
    // The field went away (deleted, or it expired) since the hash was read.
    if (changed_field_.empty()) changed_field_ = shown(field);
    return;
  }
  std::string what;
  if (source_ttl >= 0 && target_ttl >= 0) {
    // Both on this process's monotonic clock: no server clock involved.
    const int64_t delta = (target_at + target_ttl) - (source_at + source_ttl);
    if (std::llabs(delta) <= tolerance_.count()) return;
    what = "target expires " + std::to_string(std::llabs(delta)) + " ms " +
           (delta > 0 ? "later" : "earlier") + " than source";
  } else if (source_ttl >= 0) {
    what = "expires on source (in " + std::to_string(source_ttl) + " ms), not on target";
  } else if (target_ttl >= 0) {
    what = "expires on target (in " + std::to_string(target_ttl) + " ms), not on source";
  } else {
    return;  // neither expires
  }
  if (!beyond_ids_.insert(element_id(field))) return;  // HSCAN returned it again
  if (beyond_ids_.size() == 1) {
    first_field_ = shown(field);
    first_what_ = std::move(what);
    first_source_ = ttl_words(source_ttl);
    first_target_ = ttl_words(target_ttl);
  }
}

std::optional<std::string> FieldExpiryDeltas::detail() const {
  const std::string tol = " (tolerance " + std::to_string(tolerance_.count()) + " ms)";
  if (beyond() > 0) {
    std::string d = "field expiry of \"" + first_field_ + "\": " + first_what_ + tol;
    if (beyond() > 1) d += "; " + std::to_string(beyond()) + " fields beyond the tolerance";
    return d;
  }
  if (changed())
    return "field \"" + changed_field_ +
           "\" changed while field expiries were checked; re-checked next round";
  return std::nullopt;
}

std::string FieldExpiryDeltas::location_json() const {
  if (beyond() == 0) return "";
  ValueLocation l;
  l.located = true;
  l.part = "field expiry";
  l.at = first_field_;
  l.source = first_source_;
  l.target = first_target_;
  return l.to_json();
}

void settle_field_expiry_rows(Client& source, Client& target, std::string_view key,
                              const KeyState& s, const KeyState& t, Millis tolerance,
                              RateLimiter* limiter, std::vector<Difference>& rows, size_t first,
                              size_t chunk) {
  if (!field_expiries_to_settle(s, t)) return;
  size_t at = rows.size();
  for (size_t i = first; i < rows.size(); ++i)
    if (rows[i].kind == kKindValue && rows[i].detail == kFieldExpiriesUnsettled) at = i;
  if (at == rows.size()) return;

  FieldExpiryDeltas deltas(tolerance);
  std::string cursor = "0", failure;
  std::vector<std::string> fields;
  const std::string count = std::to_string(chunk == 0 ? 1 : chunk);
  do {
    if (limiter) limiter->acquire(1);
    const Command scan{"HSCAN", std::string(key), cursor, "COUNT", count};
    const Reply r = source.execute(std::span(&scan, 1)).at(0);
    fields.clear();
    if (r.is_error() || !scan_fields(r, cursor, fields)) {
      failure = "HSCAN: " + r.summary();
      break;
    }
    if (fields.empty()) continue;
    Command ttl{"HPTTL", std::string(key), "FIELDS", std::to_string(fields.size())};
    ttl.insert(ttl.end(), fields.begin(), fields.end());
    if (limiter) limiter->acquire(1);
    // Both sides asked together, each timed just before it is sent.
    const int64_t source_at = monotonic_ms();
    source.submit(std::span(&ttl, 1));
    int64_t target_at = 0;
    std::vector<Reply> a, b;
    try {
      target_at = monotonic_ms();
      target.submit(std::span(&ttl, 1));
    } catch (...) {
      source.collect();  // never leave a command in flight
      throw;
    }
    try {
      a = source.collect();
    } catch (...) {
      target.collect();
      throw;
    }
    b = target.collect();
    if (a.size() != 1 || b.size() != 1 || !ttl_reply_ok(a[0], fields.size()) ||
        !ttl_reply_ok(b[0], fields.size())) {
      failure = "HPTTL: " + (a.empty() ? std::string("no reply") : a[0].summary()) + " / " +
                (b.empty() ? std::string("no reply") : b[0].summary());
      break;
    }
    for (size_t k = 0; k < fields.size(); ++k)
      deltas.add(fields[k], a[0].elements[k].integer, source_at, b[0].elements[k].integer,
                 target_at);
  } while (cursor != "0");

  if (!failure.empty()) {
    rows[at].detail = "field expiries differ; cannot check them against --ttl-tolerance: " +
                      printable_bytes(failure);
    return;
  }
  if (auto d = deltas.detail()) {
    rows[at].detail = *d;
    rows[at].location = deltas.location_json();
    return;
  }
  rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(at));  // all within the tolerance
}

}  // namespace migcheck

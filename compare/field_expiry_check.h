// Settling a hash's field expiries against --ttl-tolerance. The readers
// digest each expiring field's absolute expiry exactly (hash_field_ttl.h);
// when those digests differ while the fields, values and count of expiring
// fields agree, classify_key leaves a value row "not checked" and this file
// decides it: the source's fields are scanned again in chunks (HSCAN), and
// each chunk's HPTTL is asked of both sides in one round trip; each field's
// expiry is put on this process's monotonic clock (as KeyState::expire_at_ms,
// so a skew between the servers' clocks never makes a difference) and the
// two are compared within the tolerance. Memory is one chunk plus the ids of
// the fields found beyond the tolerance (HSCAN may return a field twice).
//
// Why not a digest of expiries rounded to tolerance-sized buckets: two times
// 1 ms apart fall on either side of a bucket edge, and no shifted second grid
// fixes that for a whole hash at once, so such a digest cannot be exact. An
// exact digest plus this field-by-field check costs one more read only for
// the hashes whose expiries are not identical.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client.h"
#include "digest.h"
#include "duration.h"
#include "rate_limiter.h"
#include "reader.h"
#include "store.h"

namespace migcheck {

// The comparison of one hash's fields, fed a field at a time.
class FieldExpiryDeltas {
 public:
  explicit FieldExpiryDeltas(Millis tolerance, size_t shown = 64)
      : tolerance_(tolerance), shown_(shown) {}

  // One field's HPTTL answer on each side (-1: no expiry, -2: no such field,
  // else ms left) and the monotonic_ms() at which each side was asked.
  void add(std::string_view field, int64_t source_ttl, int64_t source_at, int64_t target_ttl,
           int64_t target_at);

  uint64_t beyond() const { return beyond_ids_.size(); }  // distinct fields
  bool changed() const { return !changed_field_.empty(); }
  // nullopt: every expiry within the tolerance and nothing changed meanwhile.
  // Else the row's detail, naming the first field beyond the tolerance (by
  // how many ms) and how many there are.
  std::optional<std::string> detail() const;
  // The first field beyond the tolerance as a ValueLocation JSON (part
  // "field expiry"); "" when there is none.
  std::string location_json() const;

 private:
  std::string shown(std::string_view field) const;

  Millis tolerance_;
  size_t shown_;
  IdSet beyond_ids_;
  std::string first_field_, first_what_, first_source_, first_target_;
  std::string changed_field_;
};

// For the rows classify_key added for one key from `first` on: the value row
// left "not checked" (kFieldExpiriesUnsettled) is removed when every field's
// expiry is within the tolerance, else given the precise detail and
// location. A per-key failure (the key changed type, NOPERM...) keeps the
// row with the reason; only losing a server throws.
void settle_field_expiry_rows(Client& source, Client& target, std::string_view key,
                              const KeyState& s, const KeyState& t, Millis tolerance,
                              RateLimiter* limiter, std::vector<Difference>& rows, size_t first,
                              size_t chunk = 1000);

}  // namespace migcheck

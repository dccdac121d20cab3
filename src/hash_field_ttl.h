// Hash-field expiration (Redis 7.4+: HPEXPIREAT, HPEXPIRETIME, HPERSIST...):
// whether a server has it, reading the absolute expiry of a hash's fields in
// batches, and the commands that set them again on a copy. Valkey 8.x and
// Redis before 7.4 have none of it: a hash whose fields expire cannot be
// copied there without losing those expiries, which callers must say.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client.h"
#include "digest.h"
#include "reply.h"
#include "resp.h"
#include "spill_set.h"

namespace migcheck {

// Whether one node has hash-field expiration: COMMAND INFO HPEXPIRETIME, or
// where COMMAND is refused, HPEXPIRETIME itself on a probe key (read-only).
bool supports_field_expiry(Client& client, size_t node);

struct FieldExpiry {
  std::string field;
  int64_t at_ms = 0;  // unix ms on the server's clock
};

// HPEXPIRETIME key FIELDS n f1..fn commands for `fields`, `batch` fields each.
std::vector<Command> field_expiry_reads(std::string_view key,
                                        std::span<const std::string_view> fields, size_t batch);
// Their replies (in order, for the same fields) -> the fields with an expiry.
// false when a reply is not an array of integers of the right length (the
// hash changed, or the server refused: `error` says which).
bool parse_field_expiries(std::span<const Reply> replies, std::span<const std::string_view> fields,
                          size_t batch, std::vector<FieldExpiry>& out, std::string& error);

// HPEXPIREAT key at FIELDS n f... for each expiry, fields sharing the same
// time grouped, at most `chunk` fields per command; `shift_ms` is added to
// every time (onto the target's clock).
void push_field_expiries(std::vector<Command>& out, std::string_view key,
                         std::span<const FieldExpiry> expiries, int64_t shift_ms, size_t chunk);

// The KeyReader's share: the fields of each hash chunk read are noted, their
// HPEXPIRETIME goes out with the key's next step (one more step after the
// last chunk), and each field's absolute expiry (unix ms on the server's
// clock) joins a digest of its own, apart from the hash's value digest
// (KeyState::field_expiry_digest). Equal digests: every expiry is exactly
// the same on both sides. Different ones are settled field by field against
// --ttl-tolerance by compare/field_expiry_check.h: no digest can say
// "within a tolerance" exactly (rounding into buckets puts two times 1 ms
// apart on either side of a bucket edge).
class FieldExpiryRead {
 public:
  // One command per call, as its arguments.
  using Emit = std::function<void(std::span<const std::string_view>)>;
  explicit FieldExpiryRead(size_t batch) : batch_(batch == 0 ? 1 : batch) {}

  void note(std::string_view field) { pending_.emplace_back(field); }
  bool has_pending() const { return !pending_.empty(); }
  // Commands for the noted fields; how many were emitted (0: none noted).
  size_t commands(std::string_view key, const Emit& emit);
  size_t in_flight() const { return in_flight_cmds_; }
  // The replies of the commands emitted last. false: `error` is set, with
  // `error_reply` when the server refused (else the reply was malformed).
  bool feed(std::span<const Reply> replies, std::string& error, const Reply*& error_reply);

  // Once every field was fed: the distinct (field, expiry) pairs settle.
  // HSCAN may return a field twice; its expiry then counts once.
  void finish();
  uint64_t count() const { return count_; }  // fields with an expiry (after finish)
  // The digest of the (field, expiry) pairs; zero when no field expires.
  Digest128 digest() const;
  void set_budget(DigestBudget* budget) { seen_.set_budget(budget); }

 private:
  size_t batch_;
  std::vector<std::string> pending_, sent_;
  size_t in_flight_cmds_ = 0;
  DistinctDigests seen_;  // (field, expiry) digests
  uint64_t count_ = 0;
  Digest128 sum_{};
};

}  // namespace migcheck

// Hash-field expiration: capability probe, HPEXPIRETIME batches and their
// parsing, HPEXPIREAT commands grouped by time.
#include "hash_field_ttl.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>

namespace migcheck {

bool supports_field_expiry(Client& client, size_t node) {
  Reply r = client.on_node(node, {"COMMAND", "INFO", "HPEXPIRETIME"});
  if (r.is_array()) return !r.elements.empty() && r.elements[0].is_array();
  // COMMAND refused (a read-only ACL user gets NOPERM, or it is renamed
  // away): ask the read command itself. Any answer but "unknown command"
  // (a redirection included: the server knew the command) means it exists.
  Reply p = client.on_node(node, {"HPEXPIRETIME", "migcheck:probe", "FIELDS", "1", "f"});
  if (!p.is_error()) return true;
  const auto code = p.error_code();
  return code == "MOVED" || code == "ASK";
}

std::vector<Command> field_expiry_reads(std::string_view key,
                                        std::span<const std::string_view> fields, size_t batch) {
  batch = std::max<size_t>(batch, 1);
  std::vector<Command> out;
  for (size_t i = 0; i < fields.size(); i += batch) {
    const size_t n = std::min(batch, fields.size() - i);
    Command c{"HPEXPIRETIME", std::string(key), "FIELDS", std::to_string(n)};
    for (size_t k = i; k < i + n; ++k) c.emplace_back(fields[k]);
    out.push_back(std::move(c));
  }
  return out;
}

bool parse_field_expiries(std::span<const Reply> replies, std::span<const std::string_view> fields,
                          size_t batch, std::vector<FieldExpiry>& out, std::string& error) {
  batch = std::max<size_t>(batch, 1);
  size_t f = 0;
  for (const Reply& r : replies) {
    const size_t n = std::min(batch, fields.size() - std::min(f, fields.size()));
    if (r.is_error()) {
      error = "HPEXPIRETIME: " + r.str;
      return false;
    }
    if (!r.is_array() || r.elements.size() != n) {
      error = "HPEXPIRETIME: unexpected reply " + r.summary();
      return false;
    }
    for (const Reply& e : r.elements) {
      if (!e.is_integer()) {
        error = "HPEXPIRETIME: unexpected reply " + r.summary();
        return false;
      }
      // -1: no expiry; -2: no such field (removed meanwhile: nothing to carry).
      if (e.integer >= 0) out.push_back({std::string(fields[f]), e.integer});
      ++f;
    }
  }
  return true;
}

void push_field_expiries(std::vector<Command>& out, std::string_view key,
                         std::span<const FieldExpiry> expiries, int64_t shift_ms, size_t chunk) {
  chunk = std::max<size_t>(chunk, 1);
  // Fields expiring together (HEXPIRE on several fields) take one command.
  std::map<int64_t, std::vector<std::string_view>> by_time;
  for (const FieldExpiry& e : expiries)
    by_time[std::max<int64_t>(e.at_ms + shift_ms, 1)].push_back(e.field);
  for (const auto& [at, fields] : by_time) {
    for (size_t i = 0; i < fields.size(); i += chunk) {
      const size_t n = std::min(chunk, fields.size() - i);
      Command c{"HPEXPIREAT", std::string(key), std::to_string(at), "FIELDS", std::to_string(n)};
      for (size_t k = i; k < i + n; ++k) c.emplace_back(fields[k]);
      out.push_back(std::move(c));
    }
  }
}

size_t FieldExpiryRead::commands(std::string_view key, const Emit& emit) {
  sent_.swap(pending_);
  pending_.clear();
  in_flight_cmds_ = 0;
  for (size_t i = 0; i < sent_.size(); i += batch_) {
    const size_t n = std::min(batch_, sent_.size() - i);
    std::vector<std::string_view> args = {"HPEXPIRETIME", key, "FIELDS"};
    const std::string count = std::to_string(n);
    args.push_back(count);
    for (size_t k = i; k < i + n; ++k) args.push_back(sent_[k]);
    emit(args);
    ++in_flight_cmds_;
  }
  return in_flight_cmds_;
}

bool FieldExpiryRead::feed(std::span<const Reply> replies, std::string& error,
                           const Reply*& error_reply) {
  error_reply = nullptr;
  size_t f = 0;
  for (const Reply& r : replies) {
    if (r.is_error()) {
      error = "HPEXPIRETIME";
      error_reply = &r;
      return false;
    }
    const size_t n = std::min(batch_, sent_.size() - std::min(f, sent_.size()));
    if (!r.is_array() || r.elements.size() != n) {
      error = "HPEXPIRETIME: unexpected reply " + r.summary();
      return false;
    }
    for (const Reply& e : r.elements) {
      // -1 no expiry; -2 the field went away after it was read (a change
      // the value digest or the next round sees).
      if (e.is_integer() && e.integer >= 0) {
        std::string b;
        put_u64(b, static_cast<uint64_t>(e.integer));
        b.append(sent_[f]);
        seen_.add(hash_bytes(b, 0x68666500 /* "hfe" */));
      }
      ++f;
    }
  }
  sent_.clear();
  in_flight_cmds_ = 0;
  return true;
}

void FieldExpiryRead::finish() {
  const DistinctDigests::Result r = seen_.finish();
  count_ = r.count;
  sum_ = r.sum;
}

Digest128 FieldExpiryRead::digest() const {
  if (count_ == 0) return {};
  std::string b;
  for (uint64_t v : {count_, sum_.lo, sum_.hi}) put_u64(b, v);
  return hash_bytes(b, 0x68666501);
}

}  // namespace migcheck

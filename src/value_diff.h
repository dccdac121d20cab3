// Where two values differ: for a key whose digests differ on source and
// target, and whose values are under a size bound, both values are read again
// and the first difference is located (a string's byte offset, a list's
// index, a hash's field, a set's member, a sorted set's member or score, a
// stream's entry, metadata or consumer group), with both sides' values
// truncated and escaped (printable_bytes). Keys over the bound are never
// read again: they are "not located". Only read commands are sent.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reader.h"
#include "store.h"

namespace migcheck {

struct LocateOptions {
  // Lists, hashes, sets, sorted sets and streams with more elements (entries)
  // than this on either side are not read again. 0 turns locating off.
  int64_t max_elements = 10000;
  // Strings longer than this on either side are not read again.
  int64_t max_bytes = 64 << 10;
  // Values (and field names) are shown up to this many bytes.
  size_t shown_bytes = 64;
  // Charged with the commands sent to the source (nullptr: unlimited).
  RateLimiter* limiter = nullptr;

  // The bound of a value of `type`: max_bytes for a string, else max_elements.
  int64_t bound(ValueType type) const {
    return type == ValueType::String ? max_bytes : max_elements;
  }
};

// The first difference inside a value. Stored as JSON in Difference::location:
//   {"located":true,"part":"field","at":"f1","source":"v1","target":null,
//    "source_bytes":2,"target_bytes":-1}
//   {"located":false,"reason":"key larger than the bound (...)"}
// `at`, `source` and `target` are printable_bytes() of at most shown_bytes
// bytes, with "..." appended when cut; null source/target: absent on that side.
struct ValueLocation {
  bool located = false;
  // "offset" (string), "index" (list), "field" (hash), "member" (set, zset),
  // "score" (zset), "entry", "last-generated-id", "entries-added",
  // "max-deleted-entry-id", "group" (stream).
  std::string part;
  std::string at;  // where: offset or index in decimal, field, member, entry id, group name
  std::optional<std::string> source, target;
  int64_t source_bytes = -1, target_bytes = -1;  // full length of the values shown; -1 absent
  std::string reason;                            // not located: why

  std::string to_json() const;
  // nullopt when `json` is empty or not a location.
  static std::optional<ValueLocation> from_json(std::string_view json);
  // One line for a terminal, e.g. `field "f1": source "v1", target absent`.
  std::string summary() const;
};

// The pure comparisons (values as read), in the ValueLocation form.
// nullopt when the values are equal.
using FieldValues = std::vector<std::pair<std::string, std::string>>;
std::optional<ValueLocation> locate_in_strings(std::string_view a, std::string_view b,
                                               size_t shown);
std::optional<ValueLocation> locate_in_lists(std::span<const std::string> a,
                                             std::span<const std::string> b, size_t shown);
// Field/value pairs in any order; the first field in byte order that differs.
std::optional<ValueLocation> locate_in_hashes(FieldValues a, FieldValues b, size_t shown);
std::optional<ValueLocation> locate_in_sets(std::vector<std::string> a, std::vector<std::string> b,
                                            size_t shown);
// Member/score pairs (scores as the server prints them).
std::optional<ValueLocation> locate_in_zsets(FieldValues a, FieldValues b, size_t shown);

// A stream's parts the comparison looks at, as XRANGE, XINFO STREAM and
// XINFO GROUPS show them (or a snapshot file's stream, in the same texts).
struct StreamParts {
  FieldValues entries;  // (id, "f1=v1 f2=v2"; see add_entry_field), ids ascending
  // "last-generated-id", "entries-added", "max-deleted-entry-id": text, "" when
  // not known (a server before 7.0, or a file older than RDB 10).
  std::map<std::string, std::string, std::less<>> meta;
  FieldValues groups;  // (name, stream_group_text(...)), sorted by name
};
// Appends `f=v` to an entry's text, space-separated.
void add_entry_field(std::string& entry, std::string_view field, std::string_view value);
// "last-delivered-id X[, entries-read N], pending P, consumers C" (no
// entries-read when `entries_read` is empty).
std::string stream_group_text(std::string_view last_delivered_id, std::string_view entries_read,
                              std::string_view pending, std::string_view consumers);

// One side's value read again, in the form the comparisons take: `str` for a
// string, `items` for a list or set, `pairs` for a hash (field, value) or a
// sorted set (member, score text), `stream` for a stream.
struct ValueParts {
  std::string str;
  std::vector<std::string> items;
  FieldValues pairs;
  StreamParts stream;
};

// Locating is refused (not located, with the reason) when the types differ,
// for module types, and for keys over the bound on either side; nullopt:
// the key is to be read again.
std::optional<ValueLocation> locate_refusal(const KeyState& s, const KeyState& t,
                                            const LocateOptions& opts);
// A not-located location with its reason.
ValueLocation not_located(std::string reason);
// The first difference of two values of `type` (the locate_in_* above); equal
// values end as not located, with the reason live compares give.
ValueLocation locate_in_values(ValueType type, ValueParts a, ValueParts b, size_t shown);
// Reads a key of `type` again on one client, the way locate_value_difference
// reads each side; a reply error ends as not located (returned).
std::optional<ValueLocation> read_value_parts(Client& c, std::string_view key, ValueType type,
                                              RateLimiter* limiter, ValueParts& out);

// Reads the key again on both clients and locates its first difference.
// `s` and `t` are the key's states from the compare (types and sizes decide
// the bound). Per-key failures (the key changed type, NOPERM...) end as not
// located with the reason; only losing a server throws.
ValueLocation locate_value_difference(Client& source, Client& target, std::string_view key,
                                      const KeyState& s, const KeyState& t,
                                      const LocateOptions& opts);

// For the rows classify_key just added for one key: fills the location of
// its value row when both digests were read and differ.
void locate_value_rows(Client& source, Client& target, std::string_view key, const KeyState& s,
                       const KeyState& t, const LocateOptions& opts, std::span<Difference> rows);
// The same for any way of locating: `locate` is called (once) when a value
// row is to be located.
void fill_value_rows(const KeyState& s, const KeyState& t, const LocateOptions& opts,
                     std::span<Difference> rows, const std::function<ValueLocation()>& locate);

}  // namespace migcheck

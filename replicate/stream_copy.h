// Copying a stream by type (internal to the copier): stream ids, the state
// other than entries (groups, consumers, pending entries, counters) as XINFO
// reports it, and the target commands that rebuild all of it on a temporary
// key. Pending entries whose entry was deleted get placeholder entries that
// are claimed, then deleted again. Used by the whole-value writer
// (by_type_writer.cc) and the chunked big-key copy (big_key_copy.cc).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "client.h"

namespace migcheck::copy_internal {

struct StreamId {
  uint64_t ms = 0, seq = 0;
  auto operator<=>(const StreamId&) const = default;
};

StreamId parse_stream_id(std::string_view id);
std::string to_string(StreamId id);
// The smallest id after `id` (XRANGE/XPENDING paging without the exclusive
// "(" syntax, which servers before 6.2 lack).
std::string next_stream_id(std::string_view id);

// Fields of an XINFO map reply.
std::optional<int64_t> int_field(const Reply& map, std::string_view name);
std::string str_field(const Reply& map, std::string_view name);

// Stream state other than entries, as XINFO reports it.
struct StreamGroup {
  std::string name, last_delivered;
  std::optional<int64_t> entries_read;
  std::vector<std::string> consumers;
};
struct StreamMeta {
  std::string last_id = "0-0";
  std::optional<int64_t> entries_added;
  std::string max_deleted;  // empty before Redis 7.0
  std::vector<StreamGroup> groups;
};
struct PelEntry {
  std::string id, consumer;
  int64_t time_ms = 0;
  int64_t count = 0;
};

// last-generated-id and the counters of XINFO STREAM [FULL].
void read_stream_top(const Reply& info, StreamMeta& m);
// A group's entries-read (nil before it is known).
std::optional<int64_t> entries_read_of(const Reply& group);

// Pending entries whose stream entry was deleted cannot be claimed: such
// ids get a placeholder entry, claimed, then deleted again (XSETID restores
// the counters afterwards). `holes` holds them in id order.
using Holes = std::set<StreamId>;

// XADD for each [id, [field, value...]] entry, holes merged in id order;
// `last` adds the holes after the last entry too. Returns the value bytes.
uint64_t push_entries(std::vector<Command>& out, const std::string& tmp,
                      std::vector<Reply>& entries, Holes& holes, bool last);
// Creation (when no entry was added), then groups with their consumers.
void push_stream_groups(std::vector<Command>& out, const std::string& tmp, const StreamMeta& m,
                        bool had_entries);
// Last: placeholders out again, then the counters as the source has them.
void push_stream_end(std::vector<Command>& out, const std::string& tmp, const StreamMeta& m,
                     const std::vector<StreamId>& placeholders);
// XCLAIM of each pending entry of `group`, with its delivery time and count.
void push_pel(std::vector<Command>& out, const std::string& tmp, const std::string& group,
              const std::vector<PelEntry>& pel);

// A whole stream from XINFO STREAM key FULL (`value`, consumed): entries,
// groups, consumers, pending entries and counters, written to `tmp`.
// Returns the value bytes.
uint64_t push_whole_stream(std::vector<Command>& out, const std::string& tmp, Reply& value);

}  // namespace migcheck::copy_internal

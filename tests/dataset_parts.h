// Pieces the every-type datasets of several integration tests (matrix,
// replicate, repair, fault, snapshot replicate) share: streams with a
// consumer group and a pending entries list, and the small collections
// around them. One copy here instead of one per dataset.
#pragma once

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "key_cmds.h"

namespace migcheck::test {

using StreamEntries = std::array<std::pair<std::string, std::string>, 3>;

// Appends `more` to `to`, in order.
inline void append_cmds(Cmds& to, const Cmds& more) {
  to.insert(to.end(), more.begin(), more.end());
}

// XADDs of entries 1-1, 2-1 and 3-1 of stream `key`, one (field, value) each.
inline Cmds three_entries(const std::string& key, const StreamEntries& entries) {
  Cmds c;
  for (int i = 0; i < 3; ++i)
    c.push_back({"XADD", key, std::to_string(i + 1) + "-1", entries[i].first, entries[i].second});
  return c;
}

inline const StreamEntries kFieldV123 = {{{"f", "v1"}, {"f", "v2"}, {"f", "v3"}}};

// Stream `key` of three entries; group `group` from 0, whose consumer alice
// read two of them, then 2-1 deleted: a pending entry whose entry is gone.
inline Cmds read_then_deleted_stream(const std::string& key, const std::string& group,
                                     const StreamEntries& entries = kFieldV123) {
  Cmds c = three_entries(key, entries);
  append_cmds(c, {{"XGROUP", "CREATE", key, group, "0"},
                  {"XREADGROUP", "GROUP", group, "alice", "COUNT", "2", "STREAMS", key, ">"},
                  {"XDEL", key, "2-1"}});
  return c;
}

// stream:1 of three entries, 2-1 deleted first; group g1 from 0 whose
// consumer alice read one entry, and a consumer bob that read none.
inline Cmds deleted_then_read_stream() {
  Cmds c = three_entries("stream:1", kFieldV123);
  append_cmds(c, {{"XDEL", "stream:1", "2-1"},
                  {"XGROUP", "CREATE", "stream:1", "g1", "0"},
                  {"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "1", "STREAMS", "stream:1", ">"},
                  {"XGROUP", "CREATECONSUMER", "stream:1", "g1", "bob"}});
  return c;
}

// A hash with a binary field and value, a set, an intset, a sorted set
// with -inf, and stream:1 with a deleted entry still pending in group g1.
inline Cmds small_collections() {
  using namespace std::string_literals;
  Cmds c = {{"HSET", "hash:1", "f1", "v1", "\0f"s, "\xffv"s},
            {"SADD", "set:1", "a", "b", "c"},
            {"SADD", "set:int", "1", "2", "3"},
            {"ZADD", "zset:1", "1.5", "a", "2", "b", "-inf", "c", "0.1", "e"}};
  append_cmds(c, read_then_deleted_stream("stream:1", "g1"));
  return c;
}

}  // namespace migcheck::test

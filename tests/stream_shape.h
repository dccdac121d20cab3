// A stream as XINFO STREAM FULL shows it, in one comparable string: the
// state a copy must keep (entries, ids, counters, groups, pending entries,
// consumers), delivery times optionally left out. Shared by the stream copy
// tests (copier_test, stream_holes_test).
#pragma once

#include <string>

#include "server_fixture.h"

namespace migcheck::test {

inline const Reply* field(const Reply& map, const std::string& name) {
  for (size_t i = 0; i + 1 < map.elements.size(); i += 2)
    if (map.elements[i].str == name) return &map.elements[i + 1];
  return nullptr;
}

// XINFO STREAM FULL without the times that a copy cannot keep (seen, active).
inline std::string stream_shape(TestServer& s, const std::string& key, bool times = true) {
  auto info = s.reply({"XINFO", "STREAM", key, "FULL", "COUNT", "0"});
  std::string out;
  for (const char* f : {"length", "last-generated-id", "max-deleted-entry-id", "entries-added",
                        "recorded-first-entry-id", "entries"})
    if (auto* v = field(info, f)) out += std::string(f) + "=" + v->text() + "|";
  if (auto* groups = field(info, "groups")) {
    for (const auto& g : groups->elements) {
      for (const char* f : {"name", "last-delivered-id", "entries-read", "pel-count"})
        out += std::string(f) + "=" + field(g, f)->text() + "|";
      for (const auto& p : field(g, "pending")->elements)  // id, consumer, time, count
        out += "pel:" + p.elements[0].str + "," + p.elements[1].str + "," +
               (times ? p.elements[2].text() : "") + "," + std::to_string(p.elements[3].integer) +
               "|";
      for (const auto& c : field(g, "consumers")->elements) {
        out += "consumer=" + field(c, "name")->str + ",pel=" + field(c, "pel-count")->text() + "|";
      }
    }
  }
  return out;
}

}  // namespace migcheck::test

// Copying a stream by type: ids, XINFO parsing and the commands that rebuild
// a stream's entries, groups, consumers, pending entries and counters on a
// temporary key (see stream_copy.h).
#include "stream_copy.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace migcheck::copy_internal {
namespace {

// A group that exists only to create an empty stream (MKSTREAM).
constexpr std::string_view kTempGroup = "migcheck:tmp";

void push_hole(std::vector<Command>& out, const std::string& tmp, StreamId id) {
  out.push_back({"XADD", tmp, to_string(id), "migcheck", "placeholder"});
}

}  // namespace

StreamId parse_stream_id(std::string_view id) {
  StreamId r;
  auto dash = id.find('-');
  std::from_chars(id.data(), id.data() + (dash == std::string_view::npos ? id.size() : dash), r.ms);
  if (dash != std::string_view::npos)
    std::from_chars(id.data() + dash + 1, id.data() + id.size(), r.seq);
  return r;
}

std::string to_string(StreamId id) {
  return std::to_string(id.ms) + "-" + std::to_string(id.seq);
}

std::string next_stream_id(std::string_view id) {
  StreamId r = parse_stream_id(id);
  if (r.seq == UINT64_MAX) return std::to_string(r.ms + 1) + "-0";
  return std::to_string(r.ms) + "-" + std::to_string(r.seq + 1);
}

std::optional<int64_t> int_field(const Reply& map, std::string_view name) {
  const Reply* r = find_field(map, name);
  if (!r) return std::nullopt;
  if (r->is_integer()) return r->integer;
  if (r->is_string() && !r->str.empty()) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(r->str.data(), r->str.data() + r->str.size(), v);
    if (ec == std::errc()) return v;
  }
  return std::nullopt;
}

std::string str_field(const Reply& map, std::string_view name) {
  const Reply* r = find_field(map, name);
  return r && r->is_string() ? r->str : std::string();
}

void read_stream_top(const Reply& info, StreamMeta& m) {
  m.last_id = str_field(info, "last-generated-id");
  if (m.last_id.empty()) m.last_id = "0-0";
  m.entries_added = int_field(info, "entries-added");
  m.max_deleted = str_field(info, "max-deleted-entry-id");
}

std::optional<int64_t> entries_read_of(const Reply& group) {
  const Reply* r = find_field(group, "entries-read");
  if (!r || r->is_nil()) return std::nullopt;
  return int_field(group, "entries-read");
}

uint64_t push_entries(std::vector<Command>& out, const std::string& tmp,
                      std::vector<Reply>& entries, Holes& holes, bool last) {
  uint64_t bytes = 0;
  for (Reply& e : entries) {
    if (!e.is_array() || e.elements.size() < 2 || !e.elements[1].is_array()) continue;
    const StreamId id = parse_stream_id(e.elements[0].str);
    while (!holes.empty() && *holes.begin() < id) {
      push_hole(out, tmp, *holes.begin());
      holes.erase(holes.begin());
    }
    Command c{"XADD", tmp, std::move(e.elements[0].str)};
    for (Reply& f : e.elements[1].elements) {
      bytes += f.str.size();
      c.push_back(std::move(f.str));
    }
    out.push_back(std::move(c));
  }
  if (last)
    for (StreamId id : holes) push_hole(out, tmp, id);
  return bytes;
}

// Creation (when no entry was added), then groups with their consumers.
void push_stream_groups(std::vector<Command>& out, const std::string& tmp, const StreamMeta& m,
                        bool had_entries) {
  if (!had_entries) {
    // An empty stream exists only through MKSTREAM.
    out.push_back({"XGROUP", "CREATE", tmp, std::string(kTempGroup), "0", "MKSTREAM"});
    out.push_back({"XGROUP", "DESTROY", tmp, std::string(kTempGroup)});
  }
  for (const auto& g : m.groups) {
    Command create{"XGROUP", "CREATE", tmp, g.name, g.last_delivered};
    if (g.entries_read)
      create.insert(create.end(), {"ENTRIESREAD", std::to_string(*g.entries_read)});
    out.push_back(std::move(create));
    for (const auto& c : g.consumers) out.push_back({"XGROUP", "CREATECONSUMER", tmp, g.name, c});
  }
}

// Last: placeholders out again, then the counters as the source has them.
void push_stream_end(std::vector<Command>& out, const std::string& tmp, const StreamMeta& m,
                     const std::vector<StreamId>& placeholders) {
  for (size_t i = 0; i < placeholders.size(); i += 1000) {
    Command del{"XDEL", tmp};
    for (size_t j = i; j < std::min(placeholders.size(), i + 1000); ++j)
      del.push_back(to_string(placeholders[j]));
    out.push_back(std::move(del));
  }
  Command setid{"XSETID", tmp, m.last_id};
  if (m.entries_added && !m.max_deleted.empty()) {
    setid.insert(setid.end(),
                 {"ENTRIESADDED", std::to_string(*m.entries_added), "MAXDELETEDID", m.max_deleted});
  }
  out.push_back(std::move(setid));
}

void push_pel(std::vector<Command>& out, const std::string& tmp, const std::string& group,
              const std::vector<PelEntry>& pel) {
  for (const auto& p : pel)
    out.push_back({"XCLAIM", tmp, group, p.consumer, "0", p.id, "TIME", std::to_string(p.time_ms),
                   "RETRYCOUNT", std::to_string(p.count), "FORCE", "JUSTID"});
}

uint64_t push_whole_stream(std::vector<Command>& out, const std::string& tmp, Reply& value) {
  const size_t first = out.size();
  uint64_t bytes = 0;
  StreamMeta m;
  read_stream_top(value, m);
  Reply* entries = nullptr;
  for (size_t f = 0; f + 1 < value.elements.size(); f += 2)
    if (value.elements[f].str == "entries") entries = &value.elements[f + 1];
  std::vector<std::pair<std::string, std::vector<PelEntry>>> pels;
  if (const Reply* groups = find_field(value, "groups"); groups && groups->is_array()) {
    for (const Reply& g : groups->elements) {
      StreamGroup sg;
      sg.name = str_field(g, "name");
      sg.last_delivered = str_field(g, "last-delivered-id");
      sg.entries_read = entries_read_of(g);
      if (const Reply* cs = find_field(g, "consumers"); cs && cs->is_array())
        for (const Reply& c : cs->elements) sg.consumers.push_back(str_field(c, "name"));
      std::vector<PelEntry> pel;
      if (const Reply* p = find_field(g, "pending"); p && p->is_array())
        for (const Reply& e : p->elements)
          if (e.is_array() && e.elements.size() >= 4)
            pel.push_back({e.elements[0].str, e.elements[1].str, e.elements[2].integer,
                           e.elements[3].integer});
      pels.emplace_back(sg.name, std::move(pel));
      m.groups.push_back(std::move(sg));
    }
  }
  Holes holes;
  if (!pels.empty()) {
    std::set<StreamId> present;
    if (entries && entries->is_array())
      for (const Reply& e : entries->elements)
        if (e.is_array() && !e.elements.empty()) present.insert(parse_stream_id(e.elements[0].str));
    for (const auto& [g, pel] : pels)
      for (const auto& p : pel)
        if (const StreamId id = parse_stream_id(p.id); !present.count(id)) holes.insert(id);
  }
  const std::vector<StreamId> placeholders(holes.begin(), holes.end());
  std::vector<Reply> none;
  bytes += push_entries(out, tmp, entries && entries->is_array() ? entries->elements : none, holes,
                        true);
  const bool had_entries = out.size() > first;
  push_stream_groups(out, tmp, m, had_entries);
  for (auto& [g, pel] : pels) push_pel(out, tmp, g, pel);
  push_stream_end(out, tmp, m, placeholders);
  return bytes;
}

}  // namespace migcheck::copy_internal

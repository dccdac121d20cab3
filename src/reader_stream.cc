// KeyReader, streams: XINFO STREAM FULL's first page (entries, metadata,
// consumer groups and their pending entries) and the XRANGE/XPENDING pages
// of streams that did not fit in it, into the stream's digest.
#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <vector>

#include "reader.h"
#include "reader_work.h"

namespace migcheck {
namespace {

std::optional<int64_t> opt_integer(const Reply* r) {
  if (!r || !r->is_integer()) return std::nullopt;
  return r->integer;
}

// Adds stream entries ([id, [field, value, ...]], as XINFO STREAM FULL and
// XRANGE give them) to the stream's digest, in order.
void add_entries(StreamWork& sw, const std::vector<Reply>& entries) {
  for (const Reply& e : entries) {
    if (!e.is_array() || e.elements.size() != 2) continue;
    sw.digest.begin_entry(e.elements[0].str);
    const auto& fv = e.elements[1].elements;
    for (size_t k = 0; k + 1 < fv.size(); k += 2)
      sw.digest.add_entry_field(fv[k].str, fv[k + 1].str);
    sw.digest.end_entry();
    sw.last_entry_id = e.elements[0].str;
  }
}

}  // namespace

// The smallest stream id greater than `id` ("ms-seq"): XRANGE/XPENDING pages
// start there, which also works on servers without the "(" exclusive form.
std::string next_stream_id(std::string_view id) {
  if (id.empty()) return "-";
  auto dash = id.find('-');
  uint64_t ms = 0, seq = 0;
  std::from_chars(id.data(), id.data() + (dash == std::string_view::npos ? id.size() : dash), ms);
  if (dash != std::string_view::npos)
    std::from_chars(id.data() + dash + 1, id.data() + id.size(), seq);
  if (seq == std::numeric_limits<uint64_t>::max()) {
    ++ms;
    seq = 0;
  } else {
    ++seq;
  }
  return std::to_string(ms) + "-" + std::to_string(seq);
}

void KeyReader::process_stream_info(size_t i, const Reply& info) {
  KeyState& s = states_[i];
  Work& w = *work_[i];
  if (info.is_error()) {
    if (info.str.find("no such key") != std::string::npos)
      return unstable(i, "vanished while read");
    return fail(i, "XINFO STREAM", info);
  }
  const Reply* length = find_field(info, "length");
  const Reply* entries = find_field(info, "entries");
  const Reply* last_id = find_field(info, "last-generated-id");
  if (!length || !length->is_integer() || !entries || !entries->is_array() || !last_id)
    return fail(i, "XINFO STREAM", Reply::error("unexpected reply " + info.summary(120)));
  w.stream = std::make_unique<StreamWork>();
  StreamWork& sw = *w.stream;
  sw.length = length->integer;
  w.size = s.size = sw.length;
  add_entries(sw, entries->elements);
  const bool ext = opts_.stream_extended_meta;
  const Reply* added = find_field(info, "entries-added");
  const Reply* max_deleted = find_field(info, "max-deleted-entry-id");
  sw.digest.set_meta(last_id->str, ext ? opt_integer(added) : std::nullopt,
                     ext && max_deleted && max_deleted->is_string()
                         ? std::optional<std::string_view>(max_deleted->str)
                         : std::nullopt);
  if (const Reply* groups = find_field(info, "groups"); groups && groups->is_array()) {
    for (const Reply& g : groups->elements) {
      const Reply* name = find_field(g, "name");
      const Reply* ldi = find_field(g, "last-delivered-id");
      if (!name || !ldi) continue;
      sw.digest.set_group(name->str, ldi->str,
                          ext ? opt_integer(find_field(g, "entries-read")) : std::nullopt);
      std::string last_pel;
      uint64_t listed = 0;
      if (const Reply* pel = find_field(g, "pending"); pel && pel->is_array()) {
        for (const Reply& p : pel->elements) {
          if (!p.is_array() || p.elements.size() < 4) continue;
          sw.digest.add_pending(name->str, p.elements[0].str, p.elements[1].str,
                                p.elements[3].integer);
          last_pel = p.elements[0].str;
          ++listed;
        }
      }
      if (const Reply* consumers = find_field(g, "consumers"); consumers && consumers->is_array())
        for (const Reply& c : consumers->elements)
          if (const Reply* cn = find_field(c, "name")) sw.digest.add_consumer(name->str, cn->str);
      const auto pel_count =
          opt_integer(find_field(g, "pel-count")).value_or(static_cast<int64_t>(listed));
      if (static_cast<int64_t>(listed) > pel_count) return unstable(i, "changed while read");
      if (static_cast<int64_t>(listed) < pel_count)
        sw.groups.push_back({name->str, last_pel, static_cast<uint64_t>(pel_count), false});
    }
  }
  if (static_cast<int64_t>(sw.digest.entries()) > sw.length)
    return unstable(i, "changed while read");
  sw.entries_done = static_cast<int64_t>(sw.digest.entries()) == sw.length;
  if (sw.entries_done && sw.groups.empty()) return finish_ok(i);
  s.chunked = true;
  w.phase = Work::Phase::More;
}

void KeyReader::process_stream_pages(size_t i, std::span<const Reply> r) {
  Work& w = *work_[i];
  StreamWork& sw = *w.stream;
  size_t k = 0;
  if (!sw.entries_done) {
    const Reply& xlen = r[k++];
    const Reply& page = r[k++];
    if (xlen.is_error()) return fail(i, "XLEN", xlen);
    if (page.is_error()) return fail(i, "XRANGE", page);
    if (xlen.integer != sw.length)
      return unstable(i, "changed while read in chunks (XLEN " + std::to_string(sw.length) +
                             " -> " + std::to_string(xlen.integer) + ")");
    if (!page.is_array() || page.elements.empty())
      return unstable(i, "changed while read in chunks");
    add_entries(sw, page.elements);
    if (static_cast<int64_t>(sw.digest.entries()) > sw.length)
      return unstable(i, "changed while read in chunks");
    sw.entries_done = static_cast<int64_t>(sw.digest.entries()) == sw.length;
  }
  for (size_t g : sw.step_groups) {
    auto& gp = sw.groups[g];
    const Reply& page = r[k++];
    if (page.is_error()) {
      if (page.error_code() == "NOGROUP") return unstable(i, "consumer group removed while read");
      return fail(i, "XPENDING", page);
    }
    if (!page.is_array() || page.elements.empty())
      return unstable(i, "pending entries changed while read");
    for (const Reply& p : page.elements) {
      if (!p.is_array() || p.elements.size() < 4) continue;
      sw.digest.add_pending(gp.name, p.elements[0].str, p.elements[1].str, p.elements[3].integer);
      gp.last_id = p.elements[0].str;
    }
    const uint64_t have = sw.digest.pending(gp.name);
    if (have > gp.expected) return unstable(i, "pending entries changed while read");
    gp.done = have == gp.expected;
  }
  if (sw.entries_done &&
      std::all_of(sw.groups.begin(), sw.groups.end(), [](auto& g) { return g.done; }))
    finish_ok(i);
}

}  // namespace migcheck

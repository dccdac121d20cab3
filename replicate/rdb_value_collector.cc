// ValueCollector (rdb_key_writer.h): one value of a snapshot file held as the
// elements the parser reports, and the by-type commands that write them.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
#include <set>

#include "copier_impl.h"
#include "rdb_key_writer.h"

namespace migcheck {

using namespace copy_internal;

namespace {

// Element overhead counted against the big-key size: a Reply per element.
constexpr uint64_t kElementOverhead = sizeof(Reply);

// The command that adds a collection's elements to a key, and how many
// elements make one member (a zset's score and member, a hash's field and
// value).
struct ElementWrite {
  RdbKind kind;
  std::string_view cmd;
  size_t per_member;
};
constexpr ElementWrite kElementWrites[] = {{RdbKind::List, "RPUSH", 1},
                                           {RdbKind::Set, "SADD", 1},
                                           {RdbKind::Zset, "ZADD", 2},
                                           {RdbKind::Hash, "HSET", 2}};

const ElementWrite& element_write(RdbKind kind) {
  return *std::find_if(std::begin(kElementWrites), std::end(kElementWrites),
                       [&](const ElementWrite& w) { return w.kind == kind; });
}

Reply text(std::string_view s) {
  Reply r;
  r.type = Reply::Type::String;
  r.str.assign(s);
  return r;
}

// A score as ZADD takes it: the shortest text that reads back as the same double.
std::string score_text(double d) {
  if (std::isinf(d)) return d > 0 ? "+inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

}  // namespace

void ValueCollector::reset(RdbKind kind) {
  kind_ = kind;
  elems_.clear();
  fexp_.clear();
  field_expiries_total_ = 0;
  str_.clear();
  entries_.clear();
  entry_ = Reply{};
  meta_ = StreamMeta{};
  pels_.clear();
  had_entries_ = false;
  held_ = 0;
  chunks_ = 0;
}

void ValueCollector::add(std::string_view s) {
  elems_.push_back(text(s));
  held_ += s.size() + kElementOverhead;
}

void ValueCollector::string_chunk(std::string_view bytes) {
  str_.append(bytes);
  held_ += bytes.size();
  on_grow();
}

void ValueCollector::list_element(std::string_view v) {
  add(v);
  on_grow();
}

void ValueCollector::set_member(std::string_view m) {
  add(m);
  on_grow();
}

void ValueCollector::zset_member(std::string_view m, double score) {
  add(score_text(score));
  add(m);
  on_grow();
}

void ValueCollector::hash_field(std::string_view f, std::string_view v, int64_t expire_ms) {
  if (field_expired(expire_ms, now_ms_)) return;
  if (expire_ms > 0) {
    fexp_.push_back({std::string(f), expire_ms});
    ++field_expiries_total_;
    held_ += f.size() + sizeof(FieldExpiry);
  }
  add(f);
  add(v);
  on_grow();
}

void ValueCollector::stream_entry_begin(std::string_view id) {
  entry_ = Reply{};
  entry_.type = Reply::Type::Array;
  entry_.elements.push_back(text(id));
  entry_.elements.emplace_back().type = Reply::Type::Array;
  held_ += id.size() + 2 * kElementOverhead;
}

void ValueCollector::stream_entry_field(std::string_view f, std::string_view v) {
  entry_.elements[1].elements.push_back(text(f));
  entry_.elements[1].elements.push_back(text(v));
  held_ += f.size() + v.size() + 2 * kElementOverhead;
}

void ValueCollector::stream_entry_end() {
  entries_.push_back(std::move(entry_));
  entry_ = Reply{};
  on_grow();
}

void ValueCollector::stream_meta(const RdbStreamMeta& m) {
  meta_.last_id = m.last_id.empty() ? "0-0" : m.last_id;
  meta_.entries_added = m.entries_added;
  meta_.max_deleted = m.max_deleted_id.value_or("");
}

void ValueCollector::stream_group(std::string_view name, std::string_view last_id,
                                  std::optional<int64_t> entries_read) {
  StreamGroup g;
  g.name.assign(name);
  g.last_delivered.assign(last_id);
  g.entries_read = entries_read;
  meta_.groups.push_back(std::move(g));
  pels_.emplace_back(std::string(name), std::vector<PelEntry>{});
}

void ValueCollector::stream_pending(std::string_view group, std::string_view id,
                                    std::string_view consumer, int64_t count) {
  if (pels_.empty() || pels_.back().first != group) return;
  // The delivery time is not compared (see redis-facts): the time of the copy.
  pels_.back().second.push_back({std::string(id), std::string(consumer), now_ms_, count});
  held_ += id.size() + consumer.size() + sizeof(PelEntry);
}

void ValueCollector::stream_consumer(std::string_view group, std::string_view name) {
  if (!meta_.groups.empty() && meta_.groups.back().name == group)
    meta_.groups.back().consumers.emplace_back(name);
}

uint64_t ValueCollector::push_chunk(std::vector<Command>& out, const std::string& tmp,
                                    size_t max_elems, uint64_t max_bytes) {
  uint64_t bytes = 0;
  switch (kind_) {
    case RdbKind::String:
      if (!str_.empty() || chunks_ == 0) {
        bytes = str_.size();
        out.push_back({chunks_ == 0 ? "SET" : "APPEND", tmp, std::move(str_)});
      }
      str_.clear();
      break;
    case RdbKind::List:
    case RdbKind::Set:
    case RdbKind::Zset:
    case RdbKind::Hash: {
      const ElementWrite& w = element_write(kind_);
      bytes = push_chunked(out, w.cmd, tmp, elems_, w.per_member, max_elems, max_bytes);
      if (kind_ == RdbKind::Hash && !fexp_.empty())
        push_field_expiries(out, tmp, fexp_, 0, max_elems);
      break;
    }
    case RdbKind::Stream: {
      // A chunk's entries go as they are: pending entries of deleted
      // entries are placed only when the stream is held whole (push_end).
      Holes none;
      had_entries_ = had_entries_ || !entries_.empty();
      bytes = push_entries(out, tmp, entries_, none, false);
      break;
    }
    case RdbKind::Module:
      break;
  }
  elems_.clear();
  fexp_.clear();
  entries_.clear();
  held_ = 0;
  ++chunks_;
  return bytes;
}

std::set<StreamId> ValueCollector::pending_ids() const {
  std::set<StreamId> ids;
  for (const auto& [g, pel] : pels_)
    for (const auto& p : pel) ids.insert(parse_stream_id(p.id));
  return ids;
}

void ValueCollector::push_end(std::vector<Command>& out, const std::string& tmp, bool whole,
                              std::vector<StreamId> placed) {
  if (kind_ != RdbKind::Stream) return;
  std::vector<StreamId> placeholders = std::move(placed);
  if (whole && !pels_.empty()) {
    // Called before push_chunk for a whole stream: its entries are all here.
    Holes holes = pending_ids();
    for (const Reply& e : entries_) holes.erase(parse_stream_id(e.elements[0].str));
    placeholders.assign(holes.begin(), holes.end());
    had_entries_ = had_entries_ || !entries_.empty() || !holes.empty();
    push_entries(out, tmp, entries_, holes, true);
    entries_.clear();
  }
  push_stream_groups(out, tmp, meta_, had_entries_);
  for (auto& [g, pel] : pels_) push_pel(out, tmp, g, pel);
  push_stream_end(out, tmp, meta_, placeholders);
}

}  // namespace migcheck

// KeyReader: the per-key state machine behind the pipelined steps, and the
// replies -> canonical digest translation for every type but streams
// (reader_stream.cc).
#include "reader.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <exception>
#include <limits>

#include "counters.h"
#include "errors.h"
#include "hash_field_ttl.h"
#include "reader_work.h"
#include "vectorset_reader.h"

namespace migcheck {

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

ValueKind collection_kind(ValueType t) {
  switch (t) {
    case ValueType::Hash:
      return ValueKind::Hash;
    case ValueType::Set:
      return ValueKind::Set;
    case ValueType::Zset:
      return ValueKind::Zset;
    default:
      return ValueKind::List;
  }
}

namespace {

bool is_scan_reply(const Reply& r) {
  return r.is_array() && r.elements.size() == 2 && r.elements[0].is_string() &&
         r.elements[1].is_array();
}

}  // namespace

ValueType value_type_from(std::string_view t) {
  if (t == "string") return ValueType::String;
  if (t == "hash") return ValueType::Hash;
  if (t == "list") return ValueType::List;
  if (t == "set") return ValueType::Set;
  if (t == "zset") return ValueType::Zset;
  if (t == "stream") return ValueType::Stream;
  if (t == "none" || t.empty()) return ValueType::None;
  return ValueType::Other;
}

ReaderStats& ReaderStats::operator+=(const ReaderStats& o) {
  return add_fields(*this, o,
                    std::tuple{&ReaderStats::keys, &ReaderStats::steps, &ReaderStats::commands,
                               &ReaderStats::chunked_keys, &ReaderStats::chunk_commands,
                               &ReaderStats::unstable, &ReaderStats::errors});
}

struct KeyReader::Num {
  char buf[24];
  size_t n;
  explicit Num(int64_t v) {
    n = static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf);
  }
  operator std::string_view() const { return {buf, n}; }
};

KeyReader::KeyReader(Client& client, ReaderOptions opts) : client_(client), opts_(std::move(opts)) {
  opts_.chunk = std::max<size_t>(opts_.chunk, 1);
  opts_.big_string = std::max<size_t>(opts_.big_string, 1);
  opts_.first_string_window = std::clamp<size_t>(opts_.first_string_window, 1, opts_.big_string);
  dedupe_budget_.limit = std::max<size_t>(opts_.dedupe_digests, 1);
}

KeyReader::~KeyReader() = default;

std::vector<std::string>& KeyReader::add_cmd(std::initializer_list<std::string_view> args) {
  // Slots keep their strings' capacity from batch to batch: no allocation
  // per command once warmed up.
  if (ncmds_ == cmds_.size()) cmds_.emplace_back();
  auto& c = cmds_[ncmds_++];
  c.resize(args.size());
  size_t i = 0;
  for (auto a : args) c[i++].assign(a.data(), a.size());
  return c;
}

void KeyReader::begin(std::span<const std::string> keys, ReadLevel level) {
  if (in_flight_) throw ProtocolError("internal: KeyReader::begin with a step in flight");
  keys_ = keys;
  nkeys_ = keys.size();
  level_ = level;
  if (states_.size() < nkeys_) states_.resize(nkeys_);
  while (work_.size() < nkeys_) {
    work_.push_back(std::make_unique<Work>());
    work_.back()->seen.set_budget(&dedupe_budget_);
  }
  active_.clear();
  for (size_t i = 0; i < nkeys_; ++i) {
    KeyState& s = states_[i];
    s.status = ReadStatus::Absent;
    s.exists = false;
    s.type = ValueType::None;
    s.type_name.assign("none");
    s.pttl = -2;
    s.expire_at_ms = 0;
    s.digest = {};
    s.size = -1;
    s.chunked = false;
    s.field_expiries = 0;
    s.field_expiry_digest = {};
    s.detail.clear();
    work_[i]->reset();
    active_.push_back(i);
  }
  stats_.keys += nkeys_;
  exists_grouped_ = false;
  done_ = nkeys_ == 0;
  if (!done_ && level == ReadLevel::Full && !field_expiry_probed_) {
    // Hash-field expiration (Redis 7.4+): field expiries are part of a hash.
    auto nodes = client_.scan_nodes();
    field_expiry_ = supports_field_expiry(client_, nodes.empty() ? 0 : nodes.front());
    field_expiry_probed_ = true;
  }
}

std::span<const KeyState> KeyReader::read(std::span<const std::string> keys, ReadLevel level) {
  begin(keys, level);
  while (submit_step()) collect_step();
  return results();
}

void KeyReader::build(size_t i, size_t& string_bytes) {
  Work& w = *work_[i];
  const KeyState& s = states_[i];
  const std::string& key = keys_[i];
  const Num count(static_cast<int64_t>(opts_.chunk));
  const int64_t chunk = static_cast<int64_t>(opts_.chunk);
  w.cmd_first = ncmds_;
  if (w.hfe && w.hfe->has_pending()) {
    // The previous chunk's fields: their expiries go with this step.
    w.hfe->commands(key, [this](std::span<const std::string_view> a) {
      auto& c = add_cmd({});
      c.assign(a.begin(), a.end());
    });
  }
  if (w.vset && (w.phase == Work::Phase::First || w.phase == Work::Phase::More)) {
    w.vset->commands(key, [this](std::initializer_list<std::string_view> a) { add_cmd(a); });
    if (w.phase == Work::Phase::More) stats_.chunk_commands += ncmds_ - w.cmd_first;
    w.cmd_count = ncmds_ - w.cmd_first;
    return;
  }
  switch (w.phase) {
    case Work::Phase::Meta:
      if (level_ == ReadLevel::Exists) {
        add_cmd({"EXISTS", key});
      } else {
        add_cmd({"TYPE", key});
        add_cmd({"PTTL", key});
      }
      break;
    case Work::Phase::First:
      // One element (byte) more than a chunk: getting fewer back proves the
      // key complete in one atomic command, so small keys need no size
      // command at all; big keys get their size with every later chunk.
      switch (s.type) {
        case ValueType::String:
          add_cmd({"GETRANGE", key, "0", Num(static_cast<int64_t>(opts_.first_string_window))});
          break;
        case ValueType::List:
          add_cmd({"LRANGE", key, "0", Num(chunk)});
          break;
        case ValueType::Hash:
          add_cmd({"HSCAN", key, "0", "COUNT", count});
          break;
        case ValueType::Set:
          add_cmd({"SSCAN", key, "0", "COUNT", count});
          break;
        case ValueType::Zset:
          add_cmd({"ZRANGE", key, "0", Num(chunk), "WITHSCORES"});
          break;
        case ValueType::Stream:
          add_cmd({"XINFO", "STREAM", key, "FULL", "COUNT", count});
          break;
        default:
          add_cmd({"DUMP", key});
          break;
      }
      break;
    case Work::Phase::More:
      switch (s.type) {
        case ValueType::String: {
          const int64_t big = static_cast<int64_t>(opts_.big_string);
          const int64_t left = w.size - w.pos;
          w.request = !w.size_known ? big : w.size <= big ? left : std::min(left, big);
          if (string_bytes > 0 && string_bytes + static_cast<size_t>(w.request) > opts_.step_bytes)
            break;
          string_bytes += static_cast<size_t>(w.request);
          add_cmd({"STRLEN", key});
          add_cmd({"GETRANGE", key, Num(w.pos), Num(w.pos + std::max<int64_t>(w.request, 1) - 1)});
          break;
        }
        case ValueType::List:
          // From the last element already read: it must come back first,
          // or elements moved (a push or pop at the head) between chunks.
          add_cmd({"LLEN", key});
          add_cmd({"LRANGE", key, Num(w.pos - 1), Num(w.pos - 1 + chunk)});
          break;
        case ValueType::Hash:
          add_cmd({"HLEN", key});
          add_cmd({"HSCAN", key, w.cursor, "COUNT", count});
          break;
        case ValueType::Set:
          add_cmd({"SCARD", key});
          add_cmd({"SSCAN", key, w.cursor, "COUNT", count});
          break;
        case ValueType::Zset:
          add_cmd({"ZCARD", key});
          add_cmd({"ZRANGE", key, Num(w.pos - 1), Num(w.pos - 1 + chunk), "WITHSCORES"});
          break;
        case ValueType::Stream: {
          StreamWork& sw = *w.stream;
          if (!sw.entries_done) {
            add_cmd({"XLEN", key});
            add_cmd({"XRANGE", key, next_stream_id(sw.last_entry_id), "+", "COUNT", count});
          }
          sw.step_groups.clear();
          for (size_t g = 0; g < sw.groups.size(); ++g) {
            if (sw.groups[g].done) continue;
            sw.step_groups.push_back(g);
            add_cmd({"XPENDING", key, sw.groups[g].name, next_stream_id(sw.groups[g].last_id), "+",
                     count});
          }
          break;
        }
        default:
          break;
      }
      stats_.chunk_commands += ncmds_ - w.cmd_first;
      break;
    case Work::Phase::VerifyEmpty:
      add_cmd({"TYPE", key});
      break;
    case Work::Phase::FieldTtl:  // only the HPEXPIRETIME prefix above
      break;
    case Work::Phase::Done:
      break;
  }
  w.cmd_count = ncmds_ - w.cmd_first;
}

bool KeyReader::submit_step() {
  if (done_) return false;
  if (in_flight_) throw ProtocolError("internal: KeyReader step already in flight");
  ncmds_ = 0;
  exists_groups_.clear();
  if (level_ == ReadLevel::Exists && !exists_grouped_ && !client_.cluster()) {
    // EXISTS k1..kN counts the keys that exist: when all do (the common
    // case) one command answers for N keys. Groups with a missing key are
    // asked key by key in the next step. (Cluster keys rarely share a slot.)
    exists_grouped_ = true;
    for (size_t a = 0; a < active_.size(); a += kExistsGroup) {
      const size_t n = std::min(kExistsGroup, active_.size() - a);
      if (ncmds_ == cmds_.size()) cmds_.emplace_back();
      auto& c = cmds_[ncmds_++];
      c.resize(n + 1);
      c[0].assign("EXISTS");
      for (size_t k = 0; k < n; ++k) c[k + 1].assign(keys_[active_[a + k]]);
      exists_groups_.emplace_back(a, n);
    }
  } else {
    size_t string_bytes = 0;
    for (size_t i : active_) build(i, string_bytes);
  }
  if (ncmds_ == 0) {
    done_ = true;
    return false;
  }
  ++stats_.steps;
  stats_.commands += ncmds_;
  if (opts_.limiter) opts_.limiter->acquire(ncmds_);
  step_sent_ms_ = monotonic_ms();
  client_.submit(std::span<const std::vector<std::string>>(cmds_.data(), ncmds_));
  in_flight_ = true;
  return true;
}

void KeyReader::collect_step() {
  if (!in_flight_) return;
  in_flight_ = false;
  std::vector<Reply> replies = client_.collect();
  // The server answered somewhere between sending and now; the midpoint
  // bounds the error of "now" by half a round trip.
  const int64_t at_ms = (step_sent_ms_ + monotonic_ms()) / 2;
  if (replies.size() != ncmds_)
    throw ProtocolError("internal: " + std::to_string(replies.size()) + " replies to " +
                        std::to_string(ncmds_) + " commands from " + client_.display());
  if (!exists_groups_.empty()) {
    for (size_t g = 0; g < exists_groups_.size(); ++g) {
      const auto [a, n] = exists_groups_[g];
      if (!replies[g].is_integer() || replies[g].integer != static_cast<int64_t>(n)) continue;
      for (size_t k = 0; k < n; ++k) {
        KeyState& s = states_[active_[a + k]];
        s.exists = true;
        s.type_name.clear();
        s.status = ReadStatus::Ok;
        work_[active_[a + k]]->phase = Work::Phase::Done;
      }
    }
    for (size_t idx = 0; idx < active_.size(); ++idx) work_[active_[idx]]->cmd_count = 0;
  }
  size_t kept = 0;
  for (size_t idx = 0; idx < active_.size(); ++idx) {
    const size_t i = active_[idx];
    Work& w = *work_[i];
    if (w.cmd_count > 0)
      process(i, std::span<const Reply>(replies.data() + w.cmd_first, w.cmd_count), at_ms);
    if (w.phase != Work::Phase::Done) active_[kept++] = i;
  }
  active_.resize(kept);
  if (active_.empty()) done_ = true;
}

void KeyReader::process(size_t i, std::span<const Reply> r, int64_t at_ms) {
  if (Work& w = *work_[i]; w.hfe && w.hfe->in_flight() > 0) {
    const size_t k = std::min(w.hfe->in_flight(), r.size());
    std::string error;
    const Reply* refused = nullptr;
    if (!w.hfe->feed(r.first(k), error, refused))
      return refused ? fail(i, error, *refused) : unstable(i, std::move(error));
    r = r.subspan(k);
    if (w.phase == Work::Phase::FieldTtl) return finish_ok(i);
  }
  if (Work& w = *work_[i];
      w.vset && (w.phase == Work::Phase::First || w.phase == Work::Phase::More)) {
    auto o = w.vset->feed(r);
    switch (o.status) {
      case VectorSetRead::Status::More:
        w.phase = Work::Phase::More;
        states_[i].chunked = w.vset->chunked();
        return;
      case VectorSetRead::Status::Done:
        states_[i].digest = w.vset->digest();
        states_[i].size = w.vset->size();
        states_[i].chunked = w.vset->chunked();
        return finish_ok(i);
      case VectorSetRead::Status::Unstable:
        return unstable(i, std::move(o.detail));
      case VectorSetRead::Status::Error:
        return fail(i, o.command, *o.error);
    }
  }
  switch (work_[i]->phase) {
    case Work::Phase::Meta:
      process_meta(i, r, at_ms);
      break;
    case Work::Phase::First:
      process_first(i, r);
      break;
    case Work::Phase::More:
      process_more(i, r);
      break;
    case Work::Phase::FieldTtl:
      return finish_ok(i);
    case Work::Phase::VerifyEmpty: {
      const Reply& t = r[0];
      if (t.is_error())
        fail(i, "TYPE", t);
      else if (t.str == "string") {
        work_[i]->str.reset();
        finish_ok(i);
      } else if (t.str == "none")
        unstable(i, "vanished while read");
      else
        unstable(i, "type changed while read (now " + t.str + ")");
      break;
    }
    case Work::Phase::Done:
      break;
  }
}

void KeyReader::process_meta(size_t i, std::span<const Reply> r, int64_t at_ms) {
  KeyState& s = states_[i];
  Work& w = *work_[i];
  if (level_ == ReadLevel::Exists) {
    if (r[0].is_error()) return fail(i, "EXISTS", r[0]);
    s.exists = r[0].is_integer() && r[0].integer > 0;
    s.type_name.clear();
    s.status = s.exists ? ReadStatus::Ok : ReadStatus::Absent;
    w.phase = Work::Phase::Done;
    return;
  }
  if (r[0].is_error()) return fail(i, "TYPE", r[0]);
  if (r[1].is_error()) return fail(i, "PTTL", r[1]);
  const ValueType type = value_type_from(r[0].str);
  const int64_t pttl = r[1].is_integer() ? r[1].integer : -2;
  if (type == ValueType::None || pttl == -2) {
    // TYPE none then a TTL: created between the two commands.
    if (type == ValueType::None && pttl != -2) return unstable(i, "appeared while read");
    // A type then PTTL -2: it expired between the two; it is gone now.
    s.status = ReadStatus::Absent;
    w.phase = Work::Phase::Done;
    return;
  }
  s.exists = true;
  s.type = type;
  s.type_name.assign(r[0].str);
  s.pttl = pttl;
  // On this process's monotonic clock: both sides' expiries compare without
  // any server clock (a skew between them is not a TTL difference).
  if (pttl >= 0) s.expire_at_ms = at_ms + pttl;
  if (level_ == ReadLevel::Meta) {
    s.status = ReadStatus::Ok;
    w.phase = Work::Phase::Done;
    return;
  }
  if (!opts_.types.empty() &&
      std::find(opts_.types.begin(), opts_.types.end(), s.type_name) == opts_.types.end()) {
    s.status = ReadStatus::Filtered;
    w.phase = Work::Phase::Done;
    return;
  }
  w.coll.reset(collection_kind(type));
  if (s.type_name == "vectorset") w.vset = std::make_unique<VectorSetRead>(opts_.chunk);
  if (type == ValueType::Hash && field_expiry_) {
    w.hfe = std::make_unique<FieldExpiryRead>(opts_.chunk);
    w.hfe->set_budget(&dedupe_budget_);
  }
  w.phase = Work::Phase::First;
}

namespace {
constexpr const char* kSizeCmd[] = {"", "STRLEN", "LLEN", "HLEN", "SCARD", "ZCARD", "XLEN", ""};
constexpr const char* kReadCmd[] = {"",      "GETRANGE", "LRANGE", "HSCAN",
                                    "SSCAN", "ZRANGE",   "XRANGE", "DUMP"};
}  // namespace

void KeyReader::process_first(size_t i, std::span<const Reply> r) {
  KeyState& s = states_[i];
  Work& w = *work_[i];
  const int64_t chunk = static_cast<int64_t>(opts_.chunk);
  const Reply& rd = r[0];

  if (s.type == ValueType::Stream) return process_stream_info(i, rd);
  if (rd.is_error()) return fail(i, kReadCmd[static_cast<size_t>(s.type)], rd);
  if (s.type == ValueType::Other) {
    if (!rd.is_string()) return unstable(i, "vanished while read");
    s.digest = digest_dump(s.type_name, rd.str);
    s.size = static_cast<int64_t>(rd.str.size());
    s.status = ReadStatus::Ok;
    w.phase = Work::Phase::Done;
    return;
  }

  if (s.type == ValueType::String) {
    if (!rd.is_string()) return unstable(i, "vanished while read");
    const std::string& got = rd.str;
    const auto n = static_cast<int64_t>(got.size());
    if (n == 0) {
      // An empty string, or a key that just vanished: TYPE tells.
      s.digest = digest_string({});
      s.size = 0;
      w.phase = Work::Phase::VerifyEmpty;
      return;
    }
    if (n <= static_cast<int64_t>(opts_.first_string_window)) {
      s.digest = digest_string(got);
      s.size = n;
      s.status = ReadStatus::Ok;
      w.phase = Work::Phase::Done;
      return;
    }
    w.str = std::make_unique<StringDigest>();
    w.str->update(got);
    w.pos = n;
    w.phase = Work::Phase::More;
    return;
  }

  if (s.type == ValueType::List || s.type == ValueType::Zset) {
    if (!rd.is_array()) return unstable(i, "changed while read");
    const auto& items = rd.elements;
    const bool zset = s.type == ValueType::Zset;
    const auto got = static_cast<int64_t>(zset ? items.size() / 2 : items.size());
    if (got == 0) return unstable(i, "vanished while read");
    if (zset) {
      for (size_t k = 0; k + 1 < items.size(); k += 2)
        if (!w.coll.add_zset_member(items[k].str, items[k + 1].str))
          return fail(i, "ZRANGE", Reply::error("unparsable score '" + items[k + 1].str + "'"));
    } else {
      for (const Reply& e : items) w.coll.add_list_element(e.str);
    }
    if (got <= chunk) {
      s.size = got;
      return finish_ok(i);
    }
    w.boundary.assign(items[zset ? items.size() - 2 : items.size() - 1].str);
    if (zset) w.boundary_score.assign(items.back().str);
    w.pos = got;
    s.chunked = true;
    w.phase = Work::Phase::More;
    return;
  }

  // Hash or set: one reply with cursor 0 is a whole traversal in one atomic
  // command, duplicate-free. Otherwise elements are deduplicated by their
  // digests across the cursor calls (a field whose value changed in between
  // counts twice), and the count is checked against HLEN/SCARD.
  if (!is_scan_reply(rd)) return unstable(i, "changed while read");
  const std::string& cursor = rd.elements[0].str;
  const auto& items = rd.elements[1].elements;
  const bool hash = s.type == ValueType::Hash;
  w.dedupe = cursor != "0";
  if (hash) {
    for (size_t k = 0; k + 1 < items.size(); k += 2) {
      // A field HSCAN returns twice is noted twice: its expiry then counts
      // once, as FieldExpiryRead keeps distinct (field, expiry) digests.
      if (w.dedupe)
        w.seen.add(hash_field_element(items[k].str, items[k + 1].str));
      else
        w.coll.add_hash_field(items[k].str, items[k + 1].str);
      if (w.hfe) w.hfe->note(items[k].str);
    }
  } else {
    for (const Reply& e : items)
      if (w.dedupe)
        w.seen.add(set_member_element(e.str));
      else
        w.coll.add_set_member(e.str);
  }
  if (cursor == "0") {
    if (w.coll.count() == 0) return unstable(i, "vanished while read");
    s.size = static_cast<int64_t>(w.coll.count());
    return finish_ok(i);
  }
  w.cursor = cursor;
  s.chunked = true;
  w.phase = Work::Phase::More;
}

void KeyReader::process_more(size_t i, std::span<const Reply> r) {
  KeyState& s = states_[i];
  Work& w = *work_[i];
  const int64_t chunk = static_cast<int64_t>(opts_.chunk);
  const auto t = static_cast<size_t>(s.type);
  if (s.type == ValueType::Stream) return process_stream_pages(i, r);
  if (r[0].is_error()) return fail(i, kSizeCmd[t], r[0]);
  if (r[1].is_error()) return fail(i, kReadCmd[t], r[1]);
  const int64_t size = r[0].is_integer() ? r[0].integer : 0;
  if (!w.size_known) {
    // The size arrives with the first chunk after the first step.
    w.size_known = true;
    w.size = s.size = size;
    const bool indexed =
        s.type == ValueType::String || s.type == ValueType::List || s.type == ValueType::Zset;
    if (size == 0) return unstable(i, "vanished while read in chunks");
    if (indexed && size < w.pos)
      return unstable(i, std::string("changed while read in chunks (") + kSizeCmd[t] + " " +
                             std::to_string(size) + " after " + std::to_string(w.pos) + " read)");
    if (s.type == ValueType::String) s.chunked = size > static_cast<int64_t>(opts_.big_string);
  } else if (size != w.size) {
    return unstable(i, std::string("changed while read in chunks (") + kSizeCmd[t] + " " +
                           std::to_string(w.size) + " -> " + std::to_string(size) + ")");
  }

  switch (s.type) {
    case ValueType::String: {
      if (!r[1].is_string()) return unstable(i, "vanished while read in chunks");
      const int64_t expect = std::min(std::max<int64_t>(w.request, 1), w.size - w.pos);
      if (static_cast<int64_t>(r[1].str.size()) != expect)
        return unstable(i, "changed while read in chunks");
      w.str->update(r[1].str);
      w.pos += expect;
      if (w.pos >= w.size) finish_ok(i);
      return;
    }
    case ValueType::List:
    case ValueType::Zset: {
      if (!r[1].is_array()) return unstable(i, "changed while read in chunks");
      const auto& items = r[1].elements;
      const bool zset = s.type == ValueType::Zset;
      const auto got = static_cast<int64_t>(zset ? items.size() / 2 : items.size());
      const int64_t expect = std::min(chunk, w.size - w.pos) + 1;  // + the overlap element
      if (got != expect) return unstable(i, "changed while read in chunks");
      if (items[0].str != w.boundary || (zset && items[1].str != w.boundary_score))
        return unstable(i, "changed while read in chunks (elements moved)");
      const size_t step = zset ? 2 : 1;
      for (size_t k = step; k + step - 1 < items.size(); k += step) {
        if (!zset)
          w.coll.add_list_element(items[k].str);
        else if (!w.coll.add_zset_member(items[k].str, items[k + 1].str))
          return fail(i, "ZRANGE", Reply::error("unparsable score '" + items[k + 1].str + "'"));
      }
      w.boundary.assign(items[items.size() - step].str);
      if (zset) w.boundary_score.assign(items.back().str);
      w.pos += got - 1;
      if (w.pos >= w.size) finish_ok(i);
      return;
    }
    case ValueType::Hash:
    case ValueType::Set: {
      if (!is_scan_reply(r[1])) return unstable(i, "changed while read in chunks");
      const auto& items = r[1].elements[1].elements;
      if (s.type == ValueType::Hash) {
        for (size_t k = 0; k + 1 < items.size(); k += 2) {
          w.seen.add(hash_field_element(items[k].str, items[k + 1].str));
          if (w.hfe) w.hfe->note(items[k].str);
        }
      } else {
        for (const Reply& e : items) w.seen.add(set_member_element(e.str));
      }
      w.cursor = r[1].elements[0].str;
      if (w.cursor == "0") {
        const auto distinct = w.seen.finish();
        w.coll.add_elements(distinct.count, distinct.sum);
        if (static_cast<int64_t>(w.coll.count()) != w.size)
          return unstable(i, std::string("changed while read in chunks (") + kSizeCmd[t] + " " +
                                 std::to_string(w.size) + ", scanned " +
                                 std::to_string(w.coll.count()) + ")");
        finish_ok(i);
      }
      return;
    }
    default:
      return;
  }
}

void KeyReader::finish_ok(size_t i) {
  KeyState& s = states_[i];
  Work& w = *work_[i];
  if (w.hfe && w.hfe->has_pending()) {
    w.phase = Work::Phase::FieldTtl;  // one more step: the last fields' expiries
    return;
  }
  switch (s.type) {
    case ValueType::String:
      if (w.str) s.digest = w.str->finish();  // else set already (one piece / empty)
      break;
    case ValueType::Stream:
      s.digest = w.stream->digest.finish();
      break;
    case ValueType::Other:
      break;
    default:
      if (w.hfe) w.hfe->finish();
      s.digest = w.coll.finish();  // field names and values only
      if (w.hfe) {
        s.field_expiries = static_cast<int64_t>(w.hfe->count());
        s.field_expiry_digest = w.hfe->digest();
      }
      break;
  }
  s.status = ReadStatus::Ok;
  w.phase = Work::Phase::Done;
  if (s.chunked) ++stats_.chunked_keys;
  w.seen.clear();
}

void KeyReader::unstable(size_t i, std::string why) {
  KeyState& s = states_[i];
  s.status = ReadStatus::Unstable;
  s.detail = std::move(why);
  s.digest = {};
  work_[i]->phase = Work::Phase::Done;
  work_[i]->seen.clear();
  ++stats_.unstable;
}

void KeyReader::fail(size_t i, std::string_view cmd, const Reply& err) {
  if (err.error_code() == "WRONGTYPE")
    return unstable(i, "type changed while read (" + std::string(cmd) + ")");
  KeyState& s = states_[i];
  s.status = ReadStatus::Error;
  s.detail.assign(cmd).append(": ").append(err.str);
  s.digest = {};
  work_[i]->phase = Work::Phase::Done;
  work_[i]->seen.clear();
  ++stats_.errors;
}

void read_together(std::span<const ReadJob> jobs) {
  for (const ReadJob& j : jobs) j.reader->begin(j.keys, j.level);
  std::vector<KeyReader*> sent;
  sent.reserve(jobs.size());
  for (;;) {
    sent.clear();
    std::exception_ptr failure;
    for (const ReadJob& j : jobs) {
      try {
        if (j.reader->submit_step()) sent.push_back(j.reader);
      } catch (...) {
        failure = std::current_exception();
        break;
      }
    }
    if (sent.empty() && !failure) return;
    // Every submitted step is collected even when another failed, so no
    // client is left with a batch in flight.
    for (KeyReader* r : sent) {
      try {
        r->collect_step();
      } catch (...) {
        if (!failure) failure = std::current_exception();
      }
    }
    if (failure) std::rethrow_exception(failure);
  }
}

void read_together(KeyReader& a, std::span<const std::string> keys_a, KeyReader& b,
                   std::span<const std::string> keys_b, ReadLevel level) {
  const ReadJob jobs[] = {{&a, keys_a, level}, {&b, keys_b, level}};
  read_together(jobs);
}

}  // namespace migcheck

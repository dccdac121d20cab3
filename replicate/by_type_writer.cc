// Writing a whole value by type (no DUMP/RESTORE): --struct, a payload the
// target refuses, a source that refuses DUMP. The value read from the source
// becomes commands that build it on a temporary key in the key's slot
// (hash-field expiries included), then PEXPIREAT and RENAME into place, so
// no reader of the target sees half a value.
#include <iterator>

#include "copier_impl.h"
#include "hash_field_ttl.h"

namespace migcheck {

using namespace copy_internal;

uint64_t copy_internal::push_chunked(std::vector<Command>& out, std::string_view cmd,
                                     const std::string& tmp, std::vector<Reply>& elems,
                                     size_t group, size_t max_elems, uint64_t max_bytes,
                                     bool swap_pairs) {
  uint64_t total = 0;
  size_t i = 0;
  max_elems = std::max(max_elems, group);
  while (i + group <= elems.size()) {
    Command c;
    c.reserve(2 + std::min(max_elems, elems.size() - i));
    c.emplace_back(cmd);
    c.push_back(tmp);
    uint64_t bytes = 0;
    size_t n = 0;
    while (i + group <= elems.size() && n < max_elems && (n == 0 || bytes < max_bytes)) {
      if (swap_pairs) {
        c.push_back(std::move(elems[i + 1].str));
        c.push_back(std::move(elems[i].str));
      } else {
        for (size_t g = 0; g < group; ++g) c.push_back(std::move(elems[i + g].str));
      }
      for (size_t g = 0; g < group; ++g) bytes += c[c.size() - 1 - g].size();
      i += group;
      n += group;
    }
    total += bytes;
    out.push_back(std::move(c));
  }
  return total;
}

// Hash fields' expiries (Redis 7.4+ sources) go with a by-type copy of a
// hash (whole, or the fields of one chunk): HPEXPIREAT commands on `tmp`
// appended to `out`. A target without field expiration gets a failure
// naming what would be lost, never a silent loss. Empty: fine; else
// {error, detail} for the key's failed outcome. `whole` is false for one
// chunk of a big hash: the count named is then a lower bound.
std::optional<std::pair<std::string, std::string>> Copier::Impl::field_expiries(
    const std::string& key, const std::string& tmp, std::span<const Reply> pairs,
    std::vector<Command>& out, bool whole) {
  if (!src_field_expiry) return std::nullopt;
  std::vector<std::string_view> fields;
  for (size_t k = 0; k + 1 < pairs.size(); k += 2) fields.push_back(pairs[k].str);
  auto cmds = field_expiry_reads(key, fields, opts.chunk_elements);
  if (cmds.empty()) return std::nullopt;
  if (opts.limiter) opts.limiter->acquire(cmds.size());
  auto replies = src.execute(cmds);
  std::vector<FieldExpiry> fx;
  std::string err;
  if (!parse_field_expiries(replies, fields, opts.chunk_elements, fx, err))
    return std::make_pair(err, std::string("reading hash-field expiries on the source"));
  if (fx.empty()) return std::nullopt;
  if (!tgt_field_expiry)
    return std::make_pair(std::string(),
                          "not copied: " + std::string(whole ? "" : "at least ") +
                              std::to_string(fx.size()) +
                              " of its fields have an expiry (hash-field expiration), which "
                              "the target cannot hold (Redis 7.4+ only): copying would lose "
                              "them");
  // Field expiries are absolute on the source's clock, as PEXPIRETIME is:
  // moved only by a measured skew larger than its own error.
  const int64_t moved =
      clock_skew(src.clock(src.node_for_key(key)), tgt.clock(tgt.node_for_key(key))).usable_ms();
  push_field_expiries(out, tmp, fx, moved, opts.chunk_elements);
  return std::nullopt;
}

void Copier::Impl::build_by_type(Item& it, int64_t abs, Reply& value) {
  const std::string& t = it.type;
  const size_t first = write_cmds.size();
  std::string tmp = new_temp(it.key);
  uint64_t bytes = 0;
  bool empty = false;
  if (t == "string") {
    if (!value.is_string()) {
      schedule_delete(it, "gone from the source");
      return;
    }
    bytes = value.str.size();
    write_cmds.push_back({"SET", tmp, std::move(value.str)});
  } else if (t == "stream") {
    if (!value.is_array()) {
      finish(it, Via::ByType, Outcome::Result::Failed, {},
             "unexpected reply reading the source: " + value.summary());
      return;
    }
    bytes = push_whole_stream(write_cmds, tmp, value);
  } else {
    if (!value.is_array()) {
      finish(it, Via::ByType, Outcome::Result::Failed, {},
             "unexpected reply reading the source: " + value.summary());
      return;
    }
    auto& e = value.elements;
    empty = e.empty();
    if (t == "list")
      bytes = push_chunked(write_cmds, "RPUSH", tmp, e, 1, opts.chunk_elements, opts.chunk_bytes);
    else if (t == "hash") {
      // Before push_chunked, which moves the field names away.
      std::vector<Command> expiries;
      if (auto lost = field_expiries(it.key, tmp, e, expiries)) {
        finish(it, Via::ByType, Outcome::Result::Failed, lost->first, lost->second, 0, "hash");
        return;
      }
      bytes = push_chunked(write_cmds, "HSET", tmp, e, 2, opts.chunk_elements, opts.chunk_bytes);
      std::move(expiries.begin(), expiries.end(), std::back_inserter(write_cmds));
    } else if (t == "set")
      bytes = push_chunked(write_cmds, "SADD", tmp, e, 1, opts.chunk_elements, opts.chunk_bytes);
    else
      bytes =
          push_chunked(write_cmds, "ZADD", tmp, e, 2, opts.chunk_elements, opts.chunk_bytes, true);
  }
  if (empty) {
    // Collections are never empty: it was deleted between expiry and value reads.
    write_cmds.resize(first);
    schedule_delete(it, "gone from the source");
    return;
  }
  if (abs > 0) write_cmds.push_back({"PEXPIREAT", tmp, std::to_string(abs)});
  write_cmds.push_back({"RENAME", tmp, it.key});
  Write w;
  w.kind = Kind::ByType;
  w.first = first;
  w.count = write_cmds.size() - first;
  w.tmp = std::move(tmp);
  w.bytes = bytes;
  if (!it.restore_error.empty()) w.detail = "target refused the DUMP payload: " + it.restore_error;
  w.item = std::move(it);
  writes.push_back(std::move(w));
}

}  // namespace migcheck

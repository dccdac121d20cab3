// Streams in a snapshot file (RDB types 15, 19 and 21): the listpack nodes
// with their master entries, the stream meta and the consumer groups with
// their pending entries and consumers. Part of RdbParser (rdb_parser.h).
#include <charconv>
#include <map>
#include <vector>

#include "rdb_encodings.h"
#include "rdb_parser.h"

namespace migcheck {
namespace {

constexpr int kFlagDeleted = 1;
constexpr int kFlagSameFields = 2;

uint64_t be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string id_text(uint64_t ms, uint64_t seq) {
  return std::to_string(ms) + "-" + std::to_string(seq);
}

using RawId = std::pair<uint64_t, uint64_t>;

}  // namespace

void RdbParser::read_stream(uint8_t type, bool report) {
  RdbVisitor null;
  RdbVisitor& out = report ? v_ : null;
  std::vector<std::string> items;
  size_t n = 0;
  auto sink = [&](std::string_view e) {
    if (n == items.size()) items.emplace_back();
    items[n++].assign(e);
  };
  for (uint64_t nodes = in_.length("a stream node count"); nodes > 0; --nodes) {
    const uint64_t key_at = in_.offset();
    in_.string(s1_, "a stream node key");
    if (s1_.size() != 16) in_.fail_at(key_at, "a 16-byte stream node id");
    const uint64_t master_ms = be64(s1_.data()), master_seq = be64(s1_.data() + 8);
    n = 0;
    read_blob("a stream listpack", BlobFormat::Listpack, sink);
    size_t i = 0;
    auto next = [&]() -> const std::string& {
      if (i >= n) in_.fail_at(blob_at_, "a complete stream entry in the listpack");
      return items[i++];
    };
    auto next_int = [&]() -> int64_t {
      const std::string& s = next();
      int64_t x = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), x);
      if (r.ec != std::errc() || r.ptr != s.data() + s.size())
        in_.fail_at(blob_at_, "an integer in the stream listpack");
      return x;
    };
    if (n == 0) continue;
    next_int();  // count of valid entries
    next_int();  // count of deleted entries
    const int64_t nmaster = next_int();
    if (nmaster < 0 || static_cast<uint64_t>(nmaster) > n) in_.fail_at(blob_at_, "master fields");
    const size_t master_at = i;
    i += static_cast<size_t>(nmaster);
    if (next_int() != 0) in_.fail_at(blob_at_, "the master entry terminator 0");
    while (i < n) {
      const int64_t flags = next_int();
      const uint64_t ms = master_ms + static_cast<uint64_t>(next_int());
      const uint64_t seq = master_seq + static_cast<uint64_t>(next_int());
      const bool live = !(flags & kFlagDeleted);
      if (live) out.stream_entry_begin(id_text(ms, seq));
      if (flags & kFlagSameFields) {
        for (int64_t f = 0; f < nmaster; ++f) {
          const std::string& value = next();
          if (live) out.stream_entry_field(items[master_at + f], value);
        }
      } else {
        const int64_t nf = next_int();
        if (nf < 0 || static_cast<uint64_t>(nf) > n) in_.fail_at(blob_at_, "an entry field count");
        for (int64_t f = 0; f < nf; ++f) {
          const std::string& field = next();
          const std::string& value = next();
          if (live) out.stream_entry_field(field, value);
        }
      }
      next();  // lp-count, for walking backwards
      if (live) out.stream_entry_end();
    }
  }
  RdbStreamMeta meta;
  meta.length = in_.length("the stream length");
  {
    const uint64_t ms = in_.length("the last id");
    meta.last_id = id_text(ms, in_.length("the last id"));
  }
  if (type >= 19) {
    uint64_t ms = in_.length("the first id");
    meta.first_id = id_text(ms, in_.length("the first id"));
    ms = in_.length("the max deleted id");
    meta.max_deleted_id = id_text(ms, in_.length("the max deleted id"));
    meta.entries_added = static_cast<int64_t>(in_.length("entries-added"));
  }
  out.stream_meta(meta);

  struct Pending {
    int64_t count = 0;
    size_t owner = SIZE_MAX;
  };
  std::map<RawId, Pending> pel;
  std::vector<std::string> consumers;
  std::string group, last;
  for (uint64_t groups = in_.length("a consumer group count"); groups > 0; --groups) {
    in_.string(group, "a consumer group name");
    const uint64_t ms = in_.length("a group's last delivered id");
    last = id_text(ms, in_.length("a group's last delivered id"));
    std::optional<int64_t> entries_read;
    if (type >= 19) {
      const auto er = static_cast<int64_t>(in_.length("a group's entries-read"));
      if (er >= 0) entries_read = er;
    }
    pel.clear();
    consumers.clear();
    char raw[16];
    for (uint64_t p = in_.length("a group's pending count"); p > 0; --p) {
      in_.read(raw, 16, "a pending entry id");
      in_.u64le("a delivery time");
      const auto count = static_cast<int64_t>(in_.length("a delivery count"));
      pel[{be64(raw), be64(raw + 8)}] = Pending{count, SIZE_MAX};
    }
    for (uint64_t cn = in_.length("a consumer count"); cn > 0; --cn) {
      consumers.emplace_back();
      in_.string(consumers.back(), "a consumer name");
      in_.u64le("a consumer's seen time");
      if (type >= 21) in_.u64le("a consumer's active time");
      for (uint64_t p = in_.length("a consumer's pending count"); p > 0; --p) {
        const uint64_t at = in_.offset();
        in_.read(raw, 16, "a consumer's pending id");
        auto it = pel.find({be64(raw), be64(raw + 8)});
        if (it == pel.end()) in_.fail_at(at, "a consumer's pending id listed in its group");
        it->second.owner = consumers.size() - 1;
      }
    }
    out.stream_group(group, last, entries_read);
    for (const auto& [id, p] : pel) {
      if (p.owner == SIZE_MAX) in_.fail("an owner for every pending entry of group " + group);
      out.stream_pending(group, id_text(id.first, id.second), consumers[p.owner], p.count);
    }
    for (const auto& name : consumers) out.stream_consumer(group, name);
  }
}

}  // namespace migcheck

// Locating a snapshot compare's value differences: one key read again from
// its file (a visitor collecting the parser's elements into ValueParts), and
// the classify-then-locate steps of the engine's workers.
#include "snapshot_locate.h"

#include <fcntl.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <span>

#include "classify.h"
#include "errors.h"
#include "file_identity.h"
#include "rdb_parser.h"
#include "rdb_reader.h"

namespace migcheck {
namespace {

std::string score_text(double d, bool g17) {
  char buf[64];
  if (g17) {
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return buf;
  }
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

// One key's value, as the parser reports it, into the parts the comparisons
// take, in the texts a server would answer (value_diff.h).
class PartsVisitor : public RdbVisitor {
 public:
  PartsVisitor(const FileValueOptions& o, ValueParts& out) : o_(o), out_(out) {}

  void string_chunk(std::string_view b) override { out_.str.append(b); }
  void list_element(std::string_view v) override { out_.items.emplace_back(v); }
  void set_member(std::string_view m) override { out_.items.emplace_back(m); }
  void zset_member(std::string_view m, double score) override {
    out_.pairs.emplace_back(m, score_text(score, o_.scores_17g));
  }
  void hash_field(std::string_view f, std::string_view v, int64_t expire_ms) override {
    if (field_expired(expire_ms, o_.now_ms)) return;  // as the digest
    out_.pairs.emplace_back(f, v);
  }
  void stream_entry_begin(std::string_view id) override {
    out_.stream.entries.emplace_back(id, "");
  }
  void stream_entry_field(std::string_view f, std::string_view v) override {
    add_entry_field(out_.stream.entries.back().second, f, v);
  }
  void stream_meta(const RdbStreamMeta& m) override {
    auto& meta = out_.stream.meta;
    meta["last-generated-id"] = m.last_id;
    const bool ext = o_.stream_extended_meta;
    meta["entries-added"] = ext && m.entries_added ? std::to_string(*m.entries_added) : "";
    meta["max-deleted-entry-id"] = ext ? m.max_deleted_id.value_or("") : "";
  }
  void stream_group(std::string_view name, std::string_view last,
                    std::optional<int64_t> entries_read) override {
    flush_group();
    group_ = std::string(name);
    last_ = std::string(last);
    entries_read_ = o_.stream_extended_meta && entries_read ? std::to_string(*entries_read) : "";
    in_group_ = true;
  }
  void stream_pending(std::string_view, std::string_view, std::string_view, int64_t) override {
    ++pending_;
  }
  void stream_consumer(std::string_view, std::string_view) override { ++consumers_; }
  void end_key(uint64_t) override {
    flush_group();
    auto& g = out_.stream.groups;
    std::sort(g.begin(), g.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  }

 private:
  void flush_group() {
    if (!in_group_) return;
    out_.stream.groups.emplace_back(
        group_, stream_group_text(last_, entries_read_, std::to_string(pending_),
                                  std::to_string(consumers_)));
    in_group_ = false;
    pending_ = consumers_ = 0;
  }

  const FileValueOptions& o_;
  ValueParts& out_;
  bool in_group_ = false;
  std::string group_, last_, entries_read_;
  int64_t pending_ = 0, consumers_ = 0;
};

}  // namespace

std::optional<ValueLocation> read_file_parts(int fd, const std::string& name, FileSpot spot,
                                             std::string_view key, const FileValueOptions& o,
                                             ValueParts& out) {
  const std::string where = " at offset " + std::to_string(spot.offset) + " of " + name;
  // The type byte, the key's name (its length header and, compressed, at
  // most its size) and the value.
  std::string buf(1 + key.size() + 32 + spot.bytes, '\0');
  const ssize_t got = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(spot.offset));
  if (got <= 0) return not_located("cannot read the key again from the file" + where);
  buf.resize(static_cast<size_t>(got));
  try {
    RdbInput head(buf, name);
    const char type = static_cast<char>(head.u8("an object type"));
    std::string name_read;
    head.string(name_read, "a key name");
    if (name_read != key) return not_located("the file does not hold the key" + where);
    // The object (type byte, then value) for run_object: the type byte is
    // put over the key name's last byte, which was read.
    const size_t at = static_cast<size_t>(head.offset()) - 1;
    buf[at] = type;
    RdbInput in(std::string_view(buf).substr(at), name);
    PartsVisitor v(o, out);
    RdbParser(in, v).run_object(RdbKey{});
  } catch (const Error& e) {
    return not_located("cannot read the key again from the file: " + std::string(e.what()));
  }
  return std::nullopt;
}

const SnapshotLocator::OpenFile* SnapshotLocator::open(OpenFile& f, const std::string& path) {
  std::lock_guard lock(mu_);
  if (f.fd.fd < 0) {
    f.fd = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    f.options = {now_, ext_, rdb_header_version(path) <= 10};
  }
  return f.fd.fd < 0 ? nullptr : &f;
}

FileSpot SnapshotLocator::place(int db, std::string_view key, const KeyState& s, int round,
                                FileSpot spot) {
  const Digest128 h = db_key_hash(db, key);
  std::lock_guard lock(mu_);
  if (round == 1) {
    // Only keys a later round could locate: under the bound, read from the file.
    if (spot.bytes > 0 && s.size <= o_.base.locate.bound(s.type)) {
      std::string rec(kSpotBytes, '\0');
      put_spot(rec.data(), spot);
      places_.add(h, rec);
    }
    return spot;
  }
  if (!sealed_) {
    places_.seal();
    sealed_ = true;
  }
  auto rec = places_.find(h);
  return rec ? get_spot(rec->data()) : FileSpot{};
}

void SnapshotLocator::classify(Client& target, const Batch& b, size_t i, int round,
                               const KeyState& t, Millis ttl_tolerance,
                               std::vector<Difference>& diffs) {
  const KeyState& s = b.src[i];
  const std::string& key = b.keys[i];
  const size_t rows = diffs.size();
  classify_key(key, b.db, round, s, t, ttl_tolerance, diffs);
  if (diffs.size() == rows || !s.exists || o_.base.locate.bound(s.type) <= 0) return;
  const FileSpot spot = place(b.db, key, s, round, i < b.spots.size() ? b.spots[i] : FileSpot{});
  fill_value_rows(s, t, o_.base.locate, std::span(diffs).subspan(rows), [&] {
    if (auto refused = locate_refusal(s, t, o_.base.locate)) return *refused;
    if (spot.bytes == 0)
      return not_located(
          "the key's place in the file is not known: its round 1 was checked before a resume");
    const OpenFile* f = open(source_, o_.source_file);
    if (!f) return not_located("cannot open the file again");
    ValueParts file, server;
    if (auto failed = read_file_parts(f->fd.fd, o_.source_file, spot, key, f->options, file))
      return *failed;
    if (auto failed = read_value_parts(target, key, s.type, nullptr, server)) return *failed;
    return locate_in_values(s.type, std::move(file), std::move(server), o_.base.locate.shown_bytes);
  });
}

void SnapshotLocator::classify_files(const RdbKeyState& k, const KeyState& s, const KeyState& t,
                                     const std::optional<std::string>& second, Millis ttl_tolerance,
                                     std::vector<Difference>& diffs) {
  const size_t rows = diffs.size();
  classify_key(k.key, k.db, 1, s, t, ttl_tolerance, diffs);
  if (diffs.size() == rows || !second) return;
  const RdbKeyState other = decode_state(*second);
  fill_value_rows(s, t, o_.base.locate, std::span(diffs).subspan(rows), [&] {
    if (auto refused = locate_refusal(s, t, o_.base.locate)) return *refused;
    const OpenFile *fa = open(source_, o_.source_file), *fb = open(target_, o_.target_file);
    if (!fa || !fb) return not_located("cannot open the files again");
    ValueParts a, b;
    if (auto failed = read_file_parts(fa->fd.fd, o_.source_file, {k.offset, k.serialized_bytes},
                                      k.key, fa->options, a))
      return *failed;
    if (auto failed =
            read_file_parts(fb->fd.fd, o_.target_file, {other.offset, other.serialized_bytes},
                            k.key, fb->options, b))
      return *failed;
    return locate_in_values(s.type, std::move(a), std::move(b), o_.base.locate.shown_bytes);
  });
}

}  // namespace migcheck

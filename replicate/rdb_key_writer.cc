// RdbKeyWriter (rdb_key_writer.h): the keys of a snapshot file written to a
// target as the parser reports them: RESTORE of the captured object, by type
// where that cannot work, big values in chunks.
#include "rdb_key_writer.h"

#include <algorithm>
#include <cstdio>

#include "copier_impl.h"
#include "scanner.h"
#include "server_info.h"
#include "slot_tag.h"
#include "stream_holes.h"

namespace migcheck {

using namespace copy_internal;

namespace {

// The highest object type byte each RDB version's readers know.
int max_type_for(int rdb_version) {
  if (rdb_version >= 80) return 21;  // Valkey 9: codes from 22 up are its own
  if (rdb_version >= 12) return 25;
  if (rdb_version == 11) return 21;
  if (rdb_version == 10) return 19;
  if (rdb_version == 9) return 15;
  return 14;
}

}  // namespace

// The key being read.
struct RdbKeyWriter::Current {
  int db = 0;
  std::string key;
  RdbKind kind = RdbKind::String;
  uint8_t type = 0;
  std::string type_name;
  std::optional<int64_t> expire_ms;
  std::string object;  // the captured serialised object (type byte first)
  bool capturing = false;
  bool filtered = false;  // a module type not selected
  bool chunked = false;   // written in chunks to `tmp`
  bool failed = false;    // a chunk was refused: the rest is read and dropped
  std::string tmp;
  std::string error, detail;
  uint64_t bytes = 0;
};

// A whole key queued in the batch.
struct RdbKeyWriter::Pending {
  int db = 0;
  std::string key;
  std::string type_name;
  RdbKind kind = RdbKind::String;
  std::optional<int64_t> expire_ms;
  bool restore = true;
  std::string tmp;              // by type: the temporary key
  size_t first = 0, count = 0;  // its commands in cmds_
  uint64_t bytes = 0;
  std::string detail;
};

RdbKeyWriter::RdbKeyWriter(RdbInput& in, RdbWriteOptions opts, Hooks hooks, RdbWriteCounters base)
    : ValueCollector(opts.now_ms), in_(in), o_(std::move(opts)), h_(std::move(hooks)), c_(base) {
  o_.batch = std::max<size_t>(o_.batch, 1);
  o_.chunk_elements = std::max<size_t>(o_.chunk_elements, 2);
  offset_done_ = o_.resume_offset;
  copied_live_ = c_.copy.copied;
}

RdbKeyWriter::~RdbKeyWriter() {
  if (cur_ && cur_->capturing) in_.end_capture();
}

std::string RdbKeyWriter::new_temp(const std::string& key) {
  return temp_names_.next(key);
}

int RdbKeyWriter::target_db_of(int file_db) const {
  return o_.db && o_.target_db >= 0 ? o_.target_db : file_db;
}

Client& RdbKeyWriter::target_of(int file_db) {
  return h_.target(target_db_of(file_db));
}

std::optional<uint16_t> RdbKeyWriter::restore_version(uint8_t type) const {
  if (!o_.target_rdb_version || restore_accepts(version_, o_.target_engine, *o_.target_rdb_version))
    return static_cast<uint16_t>(version_);
  // An older target reads the same bytes for the types it knows: framed
  // with its own version. Newer types go by type.
  if (type <= max_type_for(*o_.target_rdb_version))
    return static_cast<uint16_t>(*o_.target_rdb_version);
  return std::nullopt;
}

void RdbKeyWriter::fail(int db, const std::string& key, Outcome::Action a, std::string error,
                        std::string detail) {
  ++c_.copy.keys;
  ++c_.copy.failed;
  if (h_.record)
    h_.record({.db = db,
               .key = key,
               .action = a,
               .outcome = Outcome::Result::Failed,
               .error = std::move(error),
               .detail = std::move(detail)});
}

void RdbKeyWriter::skip(int db, const std::string& key, std::string detail) {
  ++c_.copy.keys;
  ++c_.copy.skipped;
  if (h_.record)
    h_.record({.db = db,
               .key = key,
               .action = Outcome::Action::None,
               .outcome = Outcome::Result::Skipped,
               .error = {},
               .detail = std::move(detail)});
}

bool RdbKeyWriter::begin_key(const RdbKey& k) {
  // A key boundary: everything before it is read (and queued or written).
  if (k.offset < o_.resume_offset) return false;
  if (h_.stop && h_.stop()) {
    flush_batch(k.offset);
    throw StopPass{k.offset};
  }
  const bool type_ok =
      k.kind == RdbKind::Module || o_.types.empty() ||
      std::find(o_.types.begin(), o_.types.end(), rdb_kind_name(k.kind)) != o_.types.end();
  if ((o_.db && k.db != *o_.db) || (!o_.match.empty() && !glob_match(o_.match, k.key)) ||
      !type_ok) {
    ++c_.filtered;
    return false;
  }
  if (k.expire_ms && o_.now_ms > 0 && *k.expire_ms <= o_.now_ms) {
    ++c_.expired_skipped;
    return false;
  }
  if (target_db_of(k.db) != 0 && h_.target(0).cluster()) {
    skip(k.db, std::string(k.key),
         "db " + std::to_string(k.db) +
             " of the file: a cluster has db 0 only (copy it with --db " + std::to_string(k.db) +
             " --target-db 0)");
    return false;
  }
  if (batch_db_ >= 0 && target_db_of(k.db) != batch_db_) flush_batch(k.offset);
  if (!cur_) cur_ = std::make_unique<Current>();
  Current& c = *cur_;
  c = Current{};
  c.db = k.db;
  c.key.assign(k.key);
  c.kind = k.kind;
  c.type = k.rdb_type;
  c.type_name = rdb_kind_name(k.kind);
  c.expire_ms = k.expire_ms;
  reset(k.kind);
  const bool want_restore =
      !o_.structural && !o_.dry_run &&
      (k.kind == RdbKind::Module || (!restore_refused_ && restore_version(k.rdb_type).has_value()));
  if (want_restore) {
    c.object.assign(1, static_cast<char>(k.rdb_type));
    in_.begin_capture(&c.object);
    c.capturing = true;
  }
  return true;
}

void RdbKeyWriter::module_value(std::string_view type_name, std::string_view) {
  Current& c = *cur_;
  c.type_name.assign(type_name);
  c.filtered = !o_.types.empty() &&
               std::find(o_.types.begin(), o_.types.end(), c.type_name) == o_.types.end();
}

// The value outgrew what is held for a whole write: from now on it goes in
// chunks to a temporary key (modules cannot: their payload is held).
void RdbKeyWriter::on_grow() {
  Current& c = *cur_;
  if (c.kind == RdbKind::Module || o_.dry_run) {
    if (o_.dry_run) reset(c.kind);  // nothing is written: nothing held
    return;
  }
  if (!c.chunked) {
    if (held_bytes() < o_.big_bytes && c.object.size() < o_.big_bytes) return;
    go_chunked();
  }
  if (held_elements() >= o_.chunk_elements || held_bytes() >= o_.chunk_bytes) write_chunk(false);
}

void RdbKeyWriter::go_chunked() {
  Current& c = *cur_;
  if (c.capturing) {
    in_.end_capture();
    c.capturing = false;
  }
  std::string().swap(c.object);
  c.chunked = true;
  c.tmp = new_temp(c.key);
}

void RdbKeyWriter::write_chunk(bool last) {
  Current& c = *cur_;
  std::vector<Command> cmds;
  if (!c.failed && field_expiries() > 0 && !o_.target_field_expiry) {
    c.failed = true;
    c.detail = "not copied: at least " + std::to_string(field_expiries()) +
               " of its fields have an expiry (hash-field expiration), which the target cannot "
               "hold (Redis 7.4+ only): copying would lose them";
  }
  if (c.failed) {
    // Read to its end, dropped; the temporary key expires on its own.
    push_chunk(cmds, c.tmp, o_.chunk_elements, o_.chunk_bytes);
    return;
  }
  c.bytes += push_chunk(cmds, c.tmp, o_.chunk_elements, o_.chunk_bytes);
  if (last && !pending_ids().empty()) {
    // The entries must all be on the target to see which pending ids lack one.
    if (!cmds.empty() && !send_chunk(cmds)) return;
    cmds.clear();
    std::vector<StreamId> placed = place_stream_holes();
    if (c.failed) return;
    push_end(cmds, c.tmp, false, std::move(placed));
  } else if (last) {
    push_end(cmds, c.tmp, false);
  }
  if (!last && cmds.empty()) return;
  // The temporary key vanishes by itself if the run dies before the RENAME.
  if (last) {
    if (c.expire_ms)
      cmds.push_back({"PEXPIREAT", c.tmp, std::to_string(*c.expire_ms)});
    else
      cmds.push_back({"PERSIST", c.tmp});
    cmds.push_back({"RENAME", c.tmp, c.key});
  } else {
    cmds.push_back({"PEXPIRE", c.tmp, std::to_string(kTempTtlMs)});
  }
  send_chunk(cmds);
}

// False (the key failed) when the target refused a command.
bool RdbKeyWriter::send_chunk(const std::vector<Command>& cmds) {
  Current& c = *cur_;
  // Never sent twice: an RPUSH or APPEND applied twice would double.
  auto replies = target_of(c.db).execute(cmds, Resend::Never);
  for (size_t i = 0; i < replies.size(); ++i) {
    const Reply& r = replies[i];
    if (!r.is_error()) continue;
    // PERSIST/PEXPIRE answer integers; an error anywhere fails the key.
    c.failed = true;
    c.error = r.str;
    c.detail = is_lost_reply(r) ? "the connection was lost while the key was written in chunks"
                                : "writing by type in chunks: " + cmds[i][0];
    return false;
  }
  return true;
}

// A chunked stream's pending entries whose entry was deleted: placeholders
// at their ids on the temporary key (see stream_holes.h); returns their ids.
std::vector<StreamId> RdbKeyWriter::place_stream_holes() {
  Current& c = *cur_;
  Client& t = target_of(c.db);
  std::vector<StreamWriteError> errors;
  Holes holes = missing_entries(t, c.tmp, pending_ids(), o_.chunk_elements, errors);
  std::vector<StreamId> placed(holes.begin(), holes.end());
  if (!holes.empty() && errors.empty())
    rewrite_with_holes(t, c.tmp, new_temp(c.key), std::move(holes), o_.chunk_elements, kTempTtlMs,
                       errors);
  if (!errors.empty()) {
    c.failed = true;
    c.error = errors.front().error;
    c.detail = "placing the pending entries of deleted stream entries: " + errors.front().command;
  }
  return placed;
}

void RdbKeyWriter::finish_chunked() {
  Current& c = *cur_;
  write_chunk(true);
  if (c.failed) {
    target_of(c.db).execute(std::vector<Command>{{"DEL", c.tmp}});
    fail(c.db, c.key, Outcome::Action::Fallback, c.error, c.detail);
    return;
  }
  ++c_.copy.keys;
  ++c_.copy.copied;
  ++c_.copy.chunked;
  c_.copy.bytes += c.bytes;
  ++copied_live_;
}

void RdbKeyWriter::end_key(uint64_t) {
  Current& c = *cur_;
  if (c.capturing) {
    in_.end_capture();
    c.capturing = false;
  }
  if (c.filtered) {
    ++c_.filtered;
    return;
  }
  ++c_.keys_read;
  ++c_.keys_per_db[c.db];
  if (c.chunked) {
    finish_chunked();
    // A chunked key is written: the batch before it goes too, so the
    // boundary after it is a checkpoint.
    flush_batch(in_.offset());
    return;
  }
  if (o_.dry_run) {
    ++c_.copy.keys;
    ++c_.copy.planned;
    offset_done_ = in_.offset();
    return;
  }
  queue_whole();
  if (batch_.size() >= o_.batch || batch_bytes_ >= o_.batch_bytes) flush_batch(in_.offset());
}

void RdbKeyWriter::queue_whole() {
  Current& c = *cur_;
  Pending p;
  p.db = c.db;
  p.key = c.key;
  p.type_name = c.type_name;
  p.kind = c.kind;
  p.expire_ms = c.expire_ms;
  p.first = cmds_.size();
  batch_db_ = target_db_of(c.db);
  std::optional<uint16_t> ver;
  if (!c.object.empty()) ver = restore_version(c.type);
  if (ver && !(restore_refused_ && c.kind != RdbKind::Module)) {
    p.restore = true;
    p.bytes = c.object.size() - 1;
    cmds_.push_back({"RESTORE", c.key, std::to_string(c.expire_ms.value_or(0)),
                     frame_dump_payload(c.object, *ver), "REPLACE"});
    if (c.expire_ms) cmds_.back().push_back("ABSTTL");
  } else if (c.kind == RdbKind::Module) {
    fail(c.db, c.key, Outcome::Action::Fallback, {},
         "module type " + c.type_name +
             ": the target refused its payload and it cannot be "
             "written by type");
    return;
  } else {
    if (field_expiries() > 0 && !o_.target_field_expiry) {
      fail(c.db, c.key, Outcome::Action::Fallback, {},
           "not copied: " + std::to_string(field_expiries()) +
               " of its fields have an expiry (hash-field expiration), which the target cannot "
               "hold (Redis 7.4+ only): copying would lose them");
      return;
    }
    p.restore = false;
    p.tmp = new_temp(c.key);
    const std::string& tmp = p.tmp;
    push_end(cmds_, tmp, true);
    p.bytes = push_chunk(cmds_, tmp, o_.chunk_elements, o_.chunk_bytes);
    if (c.expire_ms) cmds_.push_back({"PEXPIREAT", tmp, std::to_string(*c.expire_ms)});
    cmds_.push_back({"RENAME", tmp, c.key});
    if (!o_.structural)
      p.detail = restore_refused_ ? "the target refused the file's payloads"
                                  : "the target's RDB version cannot read this encoding";
  }
  std::string().swap(c.object);
  p.count = cmds_.size() - p.first;
  batch_bytes_ += p.bytes;
  batch_.push_back(std::move(p));
}

// A refused payload: decoded again from the command that carried it, into
// elements, and written by type at once.
void RdbKeyWriter::by_type_from_payload(Pending& p, const std::string& why) {
  const std::string& payload = cmds_[p.first][3];
  const std::string_view object(payload.data(), payload.size() - 10);
  ValueCollector v(o_.now_ms);
  struct Forward : RdbVisitor {
    ValueCollector& v;
    explicit Forward(ValueCollector& c) : v(c) {}
    void string_chunk(std::string_view b) override { v.string_chunk(b); }
    void list_element(std::string_view e) override { v.list_element(e); }
    void set_member(std::string_view m) override { v.set_member(m); }
    void zset_member(std::string_view m, double s) override { v.zset_member(m, s); }
    void hash_field(std::string_view f, std::string_view x, int64_t e) override {
      v.hash_field(f, x, e);
    }
    void stream_entry_begin(std::string_view id) override { v.stream_entry_begin(id); }
    void stream_entry_field(std::string_view f, std::string_view x) override {
      v.stream_entry_field(f, x);
    }
    void stream_entry_end() override { v.stream_entry_end(); }
    void stream_meta(const RdbStreamMeta& m) override { v.stream_meta(m); }
    void stream_group(std::string_view n, std::string_view l, std::optional<int64_t> e) override {
      v.stream_group(n, l, e);
    }
    void stream_pending(std::string_view g, std::string_view id, std::string_view c,
                        int64_t n) override {
      v.stream_pending(g, id, c, n);
    }
    void stream_consumer(std::string_view g, std::string_view n) override {
      v.stream_consumer(g, n);
    }
  } fwd(v);
  v.reset(p.kind);
  RdbInput in(object, in_.name());
  RdbParser parser(in, fwd);
  RdbKey k;
  k.db = p.db;
  k.key = p.key;
  parser.run_object(k);
  if (v.field_expiries() > 0 && !o_.target_field_expiry) {
    fail(p.db, p.key, Outcome::Action::Fallback, {},
         "not copied: " + std::to_string(v.field_expiries()) +
             " of its fields have an expiry (hash-field expiration), which the target cannot "
             "hold (Redis 7.4+ only): copying would lose them");
    return;
  }
  std::vector<Command> cmds;
  const std::string tmp = new_temp(p.key);
  v.push_end(cmds, tmp, true);
  const uint64_t bytes = v.push_chunk(cmds, tmp, o_.chunk_elements, o_.chunk_bytes);
  if (p.expire_ms) cmds.push_back({"PEXPIREAT", tmp, std::to_string(*p.expire_ms)});
  cmds.push_back({"RENAME", tmp, p.key});
  auto replies = target_of(p.db).execute(cmds, Resend::Never);
  for (size_t i = 0; i < replies.size(); ++i)
    if (replies[i].is_error()) {
      target_of(p.db).execute(std::vector<Command>{{"DEL", tmp}});
      fail(p.db, p.key, Outcome::Action::Fallback, replies[i].str,
           "writing by type after the target refused the payload (" + why + "): " + cmds[i][0]);
      return;
    }
  ++c_.copy.keys;
  ++c_.copy.copied;
  ++c_.copy.fallbacks;
  c_.copy.bytes += bytes;
  ++copied_live_;
}

void RdbKeyWriter::flush_batch(uint64_t boundary) {
  if (!batch_.empty()) {
    Client& t = h_.target(batch_db_);
    auto replies = t.execute(cmds_, Resend::Never);
    std::vector<Reply> lost_retry;
    for (Pending& p : batch_) {
      const Reply* err = nullptr;
      size_t at = p.first;
      for (size_t i = p.first; i < p.first + p.count; ++i)
        if (replies[i].is_error()) {
          err = &replies[i];
          at = i;
          break;
        }
      if (p.restore && err && is_lost_reply(*err)) {
        // RESTORE REPLACE is idempotent: sent again.
        lost_retry = t.execute(std::span<const Command>(&cmds_[p.first], 1));
        err = lost_retry[0].is_error() ? &lost_retry[0] : nullptr;
      }
      if (!err) {
        ++c_.copy.keys;
        ++c_.copy.copied;
        ++(p.restore ? c_.copy.restored : c_.copy.fallbacks);
        c_.copy.bytes += p.bytes;
        ++copied_live_;
        continue;
      }
      if (p.restore && restore_error_wants_fallback(err->str)) {
        // A refused payload version means all of them: the rest go by type.
        if (!contains(err->str, "Bad data format")) restore_refused_ = true;
        by_type_from_payload(p, err->str);
        continue;
      }
      if (!p.restore) {
        // The temporary key of a refused by-type write is not left behind.
        t.execute(std::vector<Command>{{"DEL", p.tmp}});
      }
      fail(p.db, p.key, p.restore ? Outcome::Action::Restore : Outcome::Action::Fallback,
           is_lost_reply(*err) ? std::string("connection lost") : err->str,
           (p.restore ? std::string("RESTORE") : "writing by type: " + cmds_[at][0]) +
               (p.detail.empty() ? "" : " (" + p.detail + ")"));
    }
    batch_.clear();
    cmds_.clear();
    batch_bytes_ = 0;
  }
  batch_db_ = -1;
  offset_done_ = boundary;
  if (h_.committed) h_.committed(boundary);
}

void RdbKeyWriter::on_end(bool) {
  flush_batch(in_.offset());
}

}  // namespace migcheck

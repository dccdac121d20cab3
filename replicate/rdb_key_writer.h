// Writing the keys of a snapshot file (.rdb) to a target server, as the
// parser reports them (internal to the snapshot replicate, see
// snapshot_replicate.h). Each key's serialised object is captured from the
// file while it is parsed and RESTOREd (REPLACE ABSTTL) framed as a DUMP
// payload: the object bytes, an RDB version the target accepts and the
// CRC64. Where the target cannot take it (its RDB version is older than the
// object's type, --struct, a refused payload), the value goes by type from
// its elements. A value that grows past the big-key size while it is read
// is written by type in chunks into a temporary key in its slot, then
// RENAMEd into place, so neither the file's value nor a payload is ever held
// whole. Whole keys are pipelined in batches; a batch written is the
// checkpoint boundary (the file offset after its last key).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client.h"
#include "copier.h"
#include "hash_field_ttl.h"
#include "rdb_parser.h"
#include "slot_tag.h"
#include "stream_copy.h"

namespace migcheck {

struct RdbWriteOptions {
  std::optional<int> db;           // only this db of the file
  int target_db = -1;              // with db: its target db (-1: the same)
  std::string match;               // glob over key names
  std::vector<std::string> types;  // lowercase type names; empty = all
  int64_t now_ms = 0;              // keys expiring at or before this: skipped and counted
  bool structural = false;         // --struct: never RESTORE
  bool dry_run = false;
  std::optional<int> target_rdb_version;  // unknown: the file's, and a refusal goes by type
  std::string target_engine;              // "redis" / "valkey" (restore_accepts)
  bool target_field_expiry = false;       // the target has hash-field expiration
  size_t batch = 500;                     // whole keys per pipelined write
  uint64_t batch_bytes = 8 << 20;         // payload bytes per pipelined write
  size_t chunk_elements = 1000;           // elements per command by type
  uint64_t chunk_bytes = 1 << 20;         // bytes per command by type
  uint64_t big_bytes = 4 << 20;           // held beyond this: the key goes in chunks
  uint64_t resume_offset = 0;             // keys starting before this offset are skipped
};

// Counters of one file pass (restored from a checkpoint on resume).
struct RdbWriteCounters {
  CopyCounters copy;
  int64_t keys_read = 0;               // keys of the file selected (db, match, type)
  uint64_t expired_skipped = 0;        // ... already expired at now_ms
  uint64_t filtered = 0;               // another db, name or type
  std::map<int, int64_t> keys_per_db;  // keys_read by db of the file (the run's source facts)
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RdbWriteCounters, copy, keys_read, expired_skipped,
                                                filtered, keys_per_db)

// One value's elements as the parser reports them, held until they are
// written (whole, or a chunk of a big key). It takes no element pieces
// (RdbVisitor::takes_element_pieces): each element is one argument of one
// RPUSH, SADD, ZADD or HSET, and a sorted-set member is also a lookup key,
// so a big element is held whole here, one at a time.
class ValueCollector : public RdbVisitor {
 public:
  explicit ValueCollector(int64_t now_ms) : now_ms_(now_ms) {}
  void reset(RdbKind kind);

  void string_chunk(std::string_view bytes) override;
  void list_element(std::string_view v) override;
  void set_member(std::string_view m) override;
  void zset_member(std::string_view m, double score) override;
  void hash_field(std::string_view f, std::string_view v, int64_t expire_ms) override;
  void stream_entry_begin(std::string_view id) override;
  void stream_entry_field(std::string_view f, std::string_view v) override;
  void stream_entry_end() override;
  void stream_meta(const RdbStreamMeta& meta) override;
  void stream_group(std::string_view name, std::string_view last_id,
                    std::optional<int64_t> entries_read) override;
  void stream_pending(std::string_view group, std::string_view id, std::string_view consumer,
                      int64_t count) override;
  void stream_consumer(std::string_view group, std::string_view name) override;

  // Commands writing the elements held to `tmp` (consumed): the first chunk
  // of a string is SET, later ones APPEND. Returns the value bytes.
  uint64_t push_chunk(std::vector<Command>& out, const std::string& tmp, size_t max_elems,
                      uint64_t max_bytes);
  // After the last chunk: a stream's groups, pending entries and counters
  // (`whole`: its entries were all held, so pending entries whose entry was
  // deleted get placeholders; otherwise `placed` are the placeholders already
  // written, see stream_holes.h), or the creation of an empty stream.
  void push_end(std::vector<Command>& out, const std::string& tmp, bool whole,
                std::vector<copy_internal::StreamId> placed = {});
  // The ids of a stream's pending entries, all groups.
  std::set<copy_internal::StreamId> pending_ids() const;

  uint64_t held_bytes() const { return held_; }
  size_t held_elements() const { return elems_.size() + entries_.size(); }
  // Hash fields with an expiry (written with HPEXPIREAT, refused when the
  // target has none), counted over the whole value.
  uint64_t field_expiries() const { return field_expiries_total_; }
  bool written_any() const { return chunks_ > 0; }

 protected:
  virtual void on_grow() {}

 private:
  void add(std::string_view s);
  RdbKind kind_ = RdbKind::String;
  int64_t now_ms_ = 0;
  std::vector<Reply> elems_;  // list/set: one per element; zset: score, member; hash: field, value
  std::vector<FieldExpiry> fexp_;
  uint64_t field_expiries_total_ = 0;
  std::string str_;
  std::vector<Reply> entries_;  // stream: [id, [field, value...]]
  Reply entry_;
  copy_internal::StreamMeta meta_;
  std::vector<std::pair<std::string, std::vector<copy_internal::PelEntry>>> pels_;
  bool had_entries_ = false;
  uint64_t held_ = 0;
  int chunks_ = 0;
};

class RdbKeyWriter : public ValueCollector {
 public:
  // `target(db)`: the client of a target db. `record(outcome)`: a key not
  // copied (failed, skipped), for the store. `committed(offset)`: every key
  // before `offset` is written (a checkpoint may be taken); `stop()`: checked
  // at each key boundary, true to end the pass there (throws StopPass).
  struct Hooks {
    std::function<Client&(int db)> target;
    std::function<void(const Outcome&)> record;
    std::function<void(uint64_t offset)> committed;
    std::function<bool()> stop;
  };
  struct StopPass {
    uint64_t offset;  // every key before it is written
  };

  RdbKeyWriter(RdbInput& in, RdbWriteOptions opts, Hooks hooks, RdbWriteCounters base = {});
  ~RdbKeyWriter() override;

  void on_version(int version) override { version_ = version; }
  bool begin_key(const RdbKey& key) override;
  void module_value(std::string_view type_name, std::string_view serialized) override;
  void end_key(uint64_t serialized_bytes) override;
  void on_end(bool checksum_verified) override;

  int rdb_version() const { return version_; }
  const RdbWriteCounters& counters() const { return c_; }
  // Live figures for the progress line (another thread).
  uint64_t offset_done() const { return offset_done_.load(); }
  int64_t copied_live() const { return copied_live_.load(); }

 protected:
  void on_grow() override;

 private:
  struct Pending;
  struct Current;
  void flush_batch(uint64_t boundary);
  void go_chunked();
  void write_chunk(bool last);
  bool send_chunk(const std::vector<Command>& cmds);
  std::vector<copy_internal::StreamId> place_stream_holes();
  void finish_chunked();
  void queue_whole();
  void by_type_from_payload(Pending& p, const std::string& why);
  Client& target_of(int file_db);
  int target_db_of(int file_db) const;
  std::optional<uint16_t> restore_version(uint8_t type) const;
  void fail(int db, const std::string& key, Outcome::Action a, std::string error,
            std::string detail);
  void skip(int db, const std::string& key, std::string detail);
  std::string new_temp(const std::string& key);

  RdbInput& in_;
  RdbWriteOptions o_;
  Hooks h_;
  RdbWriteCounters c_;
  int version_ = 0;
  std::unique_ptr<Current> cur_;
  std::vector<Pending> batch_;
  std::vector<Command> cmds_;
  uint64_t batch_bytes_ = 0;
  int batch_db_ = -1;
  bool restore_refused_ = false;  // once the target refuses payloads, every key goes by type
  TempKeyNames temp_names_;
  std::atomic<uint64_t> offset_done_{0};
  std::atomic<int64_t> copied_live_{0};
};

}  // namespace migcheck

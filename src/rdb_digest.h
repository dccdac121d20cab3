// Per-key states of a snapshot file, digested with the same canonical digest
// builders (digest.h) the live KeyReader uses, so a key read from a file and
// the same key read from a server have equal digests. Values are digested
// element by element as the parser reports them: memory does not grow with
// a key's size (a stream's pending entries are the exception, see
// rdb_stream.cc), nor with an element's (a big one of the plain encodings is
// hashed in pieces as it is read).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "digest.h"
#include "rdb_parser.h"
#include "reader.h"

namespace migcheck {

struct RdbKeyState {
  int db = 0;
  std::string key;
  ValueType type = ValueType::None;
  std::string type_name;             // as TYPE answers: "string"..., or the module type's name
  std::optional<int64_t> expire_ms;  // absolute unix ms
  Digest128 digest{};
  int64_t size = 0;               // bytes (strings), elements (collections), length (streams)
  uint64_t serialized_bytes = 0;  // the value's size in the file
  uint64_t offset = 0;            // of its type byte in the file (keys are in offset order)
};

struct RdbDigestOptions {
  // As ReaderOptions::stream_extended_meta: leave out entries-added,
  // max-deleted-entry-id and entries-read when the other side cannot report them.
  bool stream_extended_meta = true;
  // Hash fields whose own TTL (Redis 7.4+) has passed at this unix ms are
  // left out, as a server would no longer return them; 0 keeps every field.
  int64_t now_ms = 0;
  // Keys for which this returns false are parsed but not digested or reported.
  std::function<bool(const RdbKey&)> want;
};

class RdbDigestVisitor : public RdbVisitor {
 public:
  using Sink = std::function<void(const RdbKeyState&)>;
  RdbDigestVisitor(Sink sink, RdbDigestOptions opts = {});

  int rdb_version() const { return version_; }

  void on_version(int version) override { version_ = version; }
  bool begin_key(const RdbKey& key) override;
  void string_chunk(std::string_view bytes) override { str_.update(bytes); }
  void list_element(std::string_view v) override { coll_.add_list_element(v); }
  void set_member(std::string_view m) override { coll_.add_set_member(m); }
  void zset_member(std::string_view m, double score) override { coll_.add_zset_member(m, score); }
  void hash_field(std::string_view f, std::string_view v, int64_t expire_ms) override;
  // A big element is hashed as it is read (ElementPieces): same digest, bounded memory.
  bool takes_element_pieces() const override { return true; }
  void element_begin() override { pieces_.begin(coll_.kind(), coll_.count()); }
  void element_string(uint64_t size) override { pieces_.begin_string(size); }
  void element_bytes(std::string_view bytes) override { pieces_.update(bytes); }
  void element_end(double score, int64_t field_expire_ms) override;
  void stream_entry_begin(std::string_view id) override { stream_.begin_entry(id); }
  void stream_entry_field(std::string_view f, std::string_view v) override {
    stream_.add_entry_field(f, v);
  }
  void stream_entry_end() override { stream_.end_entry(); }
  void stream_meta(const RdbStreamMeta& meta) override;
  void stream_group(std::string_view name, std::string_view last_id,
                    std::optional<int64_t> entries_read) override;
  void stream_pending(std::string_view group, std::string_view id, std::string_view consumer,
                      int64_t count) override {
    stream_.add_pending(group, id, consumer, count);
  }
  void stream_consumer(std::string_view group, std::string_view name) override {
    stream_.add_consumer(group, name);
  }
  // A module value is hashed as it is read (DumpDigest), never held.
  bool takes_module_pieces() const override { return true; }
  void module_begin(std::string_view type_name) override;
  void module_bytes(std::string_view bytes) override { dump_.update(bytes); }
  void module_end() override;
  void end_key(uint64_t serialized_bytes) override;

 private:
  Sink sink_;
  RdbDigestOptions opts_;
  int version_ = 0;
  RdbKeyState state_;
  StringDigest str_;
  CollectionDigest coll_;
  ElementPieces pieces_;
  DumpDigest dump_;
  StreamDigest stream_;
  int64_t stream_length_ = 0;
};

// Digests every key of the file at `path` (see RdbDigestVisitor); returns
// the file's RDB version. Throws RdbError on a corrupt or truncated file.
int digest_rdb_file(const std::string& path, const RdbDigestVisitor::Sink& sink,
                    RdbDigestOptions opts = {});

}  // namespace migcheck

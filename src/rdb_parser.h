// The streaming snapshot (.rdb) parser: the opcode loop (aux fields, SELECTDB,
// RESIZEDB, expiries, LRU/LFU hints, slot info, module aux, functions) and
// every value type and encoding of RDB versions 1 to 12, reported to an
// RdbVisitor element by element, so a value is never held whole (a big
// string comes in pieces, a big collection one element at a time, a big
// element of the plain encodings in pieces to a visitor that takes them). The
// trailing CRC64 is verified. Any truncation or corruption throws RdbError
// with the byte offset and what was expected there.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rdb_encodings.h"
#include "rdb_reader.h"

namespace migcheck {

// Object type codes as the file stores them (rdb.h).
enum class RdbKind : uint8_t { String, List, Set, Zset, Hash, Stream, Module };
const char* rdb_kind_name(RdbKind k);  // "string", "list"... "module"

struct RdbKey {
  int db = 0;
  std::string_view key;
  uint8_t rdb_type = 0;  // the object type byte (0 string ... 25 hash listpack-ex)
  RdbKind kind = RdbKind::String;
  std::optional<int64_t> expire_ms;  // absolute unix ms
  uint64_t offset = 0;               // of the type byte
};

struct RdbStreamMeta {
  uint64_t length = 0;
  std::string last_id;  // "ms-seq"
  // From RDB type 19 (Redis 7.0) on; absent in older files.
  std::optional<std::string> first_id, max_deleted_id;
  std::optional<int64_t> entries_added;
};

// Whether a hash field's expiry as RdbVisitor::hash_field gives it (0: none)
// has passed at `now_ms` (0: expiries are not judged): such a field is gone,
// as a server loading the file would drop it.
inline bool field_expired(int64_t field_expire_ms, int64_t now_ms) {
  return field_expire_ms > 0 && now_ms > 0 && field_expire_ms <= now_ms;
}

class RdbVisitor {
 public:
  virtual ~RdbVisitor() = default;
  virtual void on_version(int /*version*/) {}
  virtual void on_aux(std::string_view /*name*/, std::string_view /*value*/) {}
  virtual void on_resize_db(int /*db*/, uint64_t /*keys*/, uint64_t /*expires*/) {}
  virtual void on_function(std::string_view /*library_code*/) {}
  virtual void on_module_aux(std::string_view /*module_type*/) {}
  // Return false to have the value parsed (it must be, to find the next key)
  // but not reported.
  virtual bool begin_key(const RdbKey& /*key*/) { return true; }
  virtual void string_chunk(std::string_view /*bytes*/) {}
  virtual void list_element(std::string_view /*value*/) {}
  virtual void set_member(std::string_view /*member*/) {}
  virtual void zset_member(std::string_view /*member*/, double /*score*/) {}
  // field_expire_ms: absolute unix ms of a field TTL (Redis 7.4+), 0 for none.
  virtual void hash_field(std::string_view /*field*/, std::string_view /*value*/,
                          int64_t /*field_expire_ms*/) {}
  // Big elements in pieces. A visitor returning true here gets an element
  // of the plain encodings (a linked-list element or quicklist PLAIN node,
  // a set or sorted-set member, a hash field with its value) one of whose
  // strings is bigger than a piece (1 MiB) as element_begin(), then each
  // of its strings (a hash field before its value) as element_string(size)
  // and its bytes in pieces, then element_end() instead of the element's
  // callback above: a big LZF element is decompressed as it is read, never
  // held whole. The others always get whole elements.
  virtual bool takes_element_pieces() const { return false; }
  virtual void element_begin() {}
  virtual void element_string(uint64_t /*size*/) {}
  virtual void element_bytes(std::string_view /*bytes*/) {}
  // score: a sorted-set member's; field_expire_ms: a hash field's, as in hash_field().
  virtual void element_end(double /*score*/, int64_t /*field_expire_ms*/) {}
  // Streams: entries in id order, then the meta, then each group with its
  // pending entries (id order) and consumers.
  virtual void stream_entry_begin(std::string_view /*id*/) {}
  virtual void stream_entry_field(std::string_view /*field*/, std::string_view /*value*/) {}
  virtual void stream_entry_end() {}
  virtual void stream_meta(const RdbStreamMeta& /*meta*/) {}
  virtual void stream_group(std::string_view /*name*/, std::string_view /*last_delivered_id*/,
                            std::optional<int64_t> /*entries_read*/) {}
  virtual void stream_pending(std::string_view /*group*/, std::string_view /*id*/,
                              std::string_view /*consumer*/, int64_t /*delivery_count*/) {}
  virtual void stream_consumer(std::string_view /*group*/, std::string_view /*name*/) {}
  // A module value: its type name and the serialised object (type byte and
  // body, as in a DUMP payload without the footer).
  virtual void module_value(std::string_view /*type_name*/, std::string_view /*serialized*/) {}
  // A visitor returning true here gets a module value in pieces instead, as
  // read (never held whole): module_begin, the serialised bytes (as
  // module_value's) in pieces, module_end.
  virtual bool takes_module_pieces() const { return false; }
  virtual void module_begin(std::string_view /*type_name*/) {}
  virtual void module_bytes(std::string_view /*bytes*/) {}
  virtual void module_end() {}
  // serialized_bytes: the size of the value in the file (type byte included).
  virtual void end_key(uint64_t /*serialized_bytes*/) {}
  // checksum_verified is false when the file was written without one (0).
  virtual void on_end(bool /*checksum_verified*/) {}
};

// The name a module type reports in TYPE, from its 64-bit module id.
std::string module_type_name(uint64_t module_id);

class RdbParser {
 public:
  RdbParser(RdbInput& in, RdbVisitor& visitor) : in_(in), v_(visitor) {}
  // Reads the whole input; throws RdbError on anything malformed.
  void run();
  // Reads one serialised object (type byte and value, as a DUMP payload
  // without its footer) and reports it as the value of `key` (its db,
  // name and expiry are the caller's; type, kind and offset are set here).
  void run_object(RdbKey key);
  int version() const { return version_; }

 private:
  void read_value(const RdbKey& key, bool report);
  // The plain encoding of a list or a set: a count (`count_what`), then that
  // many strings (`what`), each handed to `sink`, or a big one in pieces to
  // `v` (read_element).
  template <typename Sink>
  void read_strings(RdbVisitor& v, std::string_view count_what, std::string_view what, Sink&& sink);
  // One such string.
  template <typename Sink>
  void read_string_element(RdbVisitor& v, std::string_view what, Sink&& sink);
  void read_list(uint8_t type, bool report);
  void read_set(uint8_t type, bool report);
  void read_zset(uint8_t type, bool report);
  void read_hash(uint8_t type, bool report);
  void read_stream(uint8_t type, bool report);
  void read_module(uint8_t type, bool report);
  void skip_module_body(std::string_view what);
  // Reads a compact blob (`what` names it in messages) into blob_ and hands
  // its elements to `sink`; blob_at_ is its file offset meanwhile and after,
  // for the messages of a sink or a caller that finds the elements wrong.
  void read_blob(std::string_view what, BlobFormat format, const ElementSink& sink);
  // The strings of one element of the plain encodings (a hash field and its
  // value when `what2` is given) into s1_ (and s2_); false when they went to
  // `v` in pieces instead (see takes_element_pieces): the caller then ends
  // the element with element_end().
  bool read_element(RdbVisitor& v, std::string_view what, std::string_view what2 = {});

  RdbInput& in_;
  RdbVisitor& v_;
  int version_ = 0;
  std::string s1_, s2_, blob_;  // reused buffers
  uint64_t blob_at_ = 0;
};

}  // namespace migcheck

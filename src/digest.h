// Canonical, encoding-independent value digests (XXH3-128). A digest depends
// only on the logical value: never on the encoding (listpack, intset,
// hashtable, quicklist layout), insertion order of hashes and sets, engine or
// version. Strings and lists are ordered; hashes, sets and sorted sets are
// order-independent (wrapping 128-bit sums of per-element hashes); sorted-set
// scores are hashed as doubles, never as the server's text. Builders accept
// values in pieces, so a big key can be digested chunk by chunk with the same
// result as in one piece. Deduplication of elements repeated by *SCAN is the
// caller's business (see DistinctDigests in spill_set.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migcheck {

struct Digest128 {
  uint64_t lo = 0;
  uint64_t hi = 0;

  friend bool operator==(const Digest128&, const Digest128&) = default;
  // Wrapping 128-bit addition: the order-independent combination.
  Digest128& operator+=(const Digest128& o) {
    uint64_t old = lo;
    lo += o.lo;
    hi += o.hi + (lo < old ? 1 : 0);
    return *this;
  }
  bool is_zero() const { return lo == 0 && hi == 0; }
  // 32 lowercase hex digits, high half first (as XXH128 canonical form).
  std::string hex() const;
};

// Part of every digest, so equal bytes of different types never collide.
enum class ValueKind : uint8_t { String = 1, List, Hash, Set, Zset, Stream, Dump, VectorSet };

// XXH3-128 of raw bytes.
Digest128 hash_bytes(std::string_view bytes, uint64_t seed = 0);

// The byte encoding of every digest's input: integers little-endian, byte
// strings length-prefixed, so no two inputs concatenate to the same bytes.
void put_u64(std::string& out, uint64_t v);
void put_bytes(std::string& out, std::string_view s);
// 64-bit identity of an element (hash field, set or zset member), for the
// per-key dedupe of elements that HSCAN/SSCAN may return twice.
uint64_t element_id(std::string_view member);

// A compact set of 64-bit ids (element_id() values): the dedupe memory of one
// big hash or set read with HSCAN/SSCAN, or of the keys re-checked in a
// round. Open addressing, 8 bytes per slot, at most half full.
class IdSet {
 public:
  // true when `id` was not in the set yet.
  bool insert(uint64_t id);
  size_t size() const { return size_; }
  // Empties the set; a big table's memory is given back.
  void clear();

 private:
  void grow();
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
  bool has_zero_ = false;
};

// A sorted-set score as the server prints it ("1", "1.0", "1e0", "inf",
// "-inf", "0.10000000000000001") -> its double; nullopt if not a number.
std::optional<double> parse_score(std::string_view text);
// The bits hashed for a score: -0.0 folds into 0.0, every NaN into one.
uint64_t canonical_score_bits(double score);

// An XXH3-128 hash fed in pieces: the one-shot hash_bytes() of the pieces
// concatenated, with the seed of the last reset (0 at first). The state the
// incremental builders below own.
class Xxh3Stream {
 public:
  Xxh3Stream();
  ~Xxh3Stream();
  Xxh3Stream(Xxh3Stream&&) noexcept;
  Xxh3Stream& operator=(Xxh3Stream&&) noexcept;
  void reset(uint64_t seed);
  void update(std::string_view bytes);
  Digest128 digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Strings: the bytes in order. One-shot, or incremental for GETRANGE windows.
Digest128 digest_string(std::string_view bytes);
class StringDigest {
 public:
  void update(std::string_view bytes);
  uint64_t size() const { return size_; }
  Digest128 finish() const;  // equals digest_string() of all updates concatenated

 private:
  Xxh3Stream hash_;
  uint64_t size_ = 0;
};

// The hash of one hash field (with its value) or set member, as
// CollectionDigest adds it: equal elements hash equal, distinct ones differ
// (barring a 128-bit collision), so these also identify elements.
Digest128 hash_field_element(std::string_view field, std::string_view value);
Digest128 set_member_element(std::string_view member);

// Lists, hashes, sets and sorted sets. Lists are ordered by the position of
// each element (the count of elements added before it); the others are
// order-independent. Elements must be added in list order for lists.
class CollectionDigest {
 public:
  explicit CollectionDigest(ValueKind kind = ValueKind::List) : kind_(kind) {}
  void reset(ValueKind kind) { *this = CollectionDigest(kind); }

  void add_list_element(std::string_view value);
  void add_hash_field(std::string_view field, std::string_view value);
  void add_set_member(std::string_view member);
  void add_zset_member(std::string_view member, double score);
  // false (and nothing added) when `score` is not a number.
  bool add_zset_member(std::string_view member, std::string_view score);

  // Elements already hashed (hash_field_element, set_member_element): for
  // the reader's deduplication, which sums distinct element hashes itself.
  // Adding them here gives the same digest as adding the elements one by one.
  void add_elements(uint64_t count, const Digest128& sum) {
    count_ += count;
    sum_ += sum;
  }

  ValueKind kind() const { return kind_; }
  uint64_t count() const { return count_; }
  Digest128 finish() const;

 private:
  ValueKind kind_;
  uint64_t count_ = 0;
  Digest128 sum_{};
};

// One element of a list, hash, set or sorted set whose bytes come in pieces
// (a big element of a snapshot file, decompressed as it is read): the hash
// CollectionDigest's add_* gives the whole element, to add with
// add_elements(1, ...). The canonical bytes length-prefix each string of a
// hash field or sorted-set member, so each string's size is given before
// its bytes (a snapshot's string header tells it).
class ElementPieces {
 public:
  // A new element of a collection of `kind`; `position` is a list
  // element's (the count of elements before it), unused by the others.
  void begin(ValueKind kind, uint64_t position);
  // Each string of the element in order (a hash field, then its value; the
  // element or member alone otherwise): its size, then its bytes in pieces.
  void begin_string(uint64_t size);
  void update(std::string_view bytes);
  // The element's hash; `score` is a sorted-set member's.
  Digest128 finish(double score = 0);

 private:
  Xxh3Stream hash_;
  ValueKind kind_ = ValueKind::List;
};

// Streams: entries (id, field/value pairs) in id order, stream metadata and
// consumer groups. Times (seen-time, active-time, delivery time) are not part
// of a stream's value and are never given here.
class StreamDigest {
 public:
  // One entry: begin_entry, its field/value pairs, end_entry. Entries in id order.
  void begin_entry(std::string_view id);
  void add_entry_field(std::string_view field, std::string_view value);
  void end_entry();
  uint64_t entries() const { return entries_; }

  // last-generated-id, entries-added and max-deleted-entry-id; the last two
  // are absent (nullopt) on servers before 7.0, or left out on purpose when
  // one side of a comparison cannot report them.
  void set_meta(std::string_view last_id, std::optional<int64_t> entries_added,
                std::optional<std::string_view> max_deleted_id);

  // Consumer groups are combined in name order, whatever order they are given in.
  void set_group(std::string_view name, std::string_view last_delivered_id,
                 std::optional<int64_t> entries_read);
  // Pending entries of a group in id order (as XPENDING and XINFO list them).
  void add_pending(std::string_view group, std::string_view id, std::string_view consumer,
                   int64_t delivery_count);
  void add_consumer(std::string_view group, std::string_view consumer);
  uint64_t pending(std::string_view group) const;

  Digest128 finish() const;

 private:
  struct Group {
    std::string last_delivered;
    std::optional<int64_t> entries_read;
    Digest128 pel{};
    uint64_t pel_count = 0;
    Digest128 consumers{};
    uint64_t consumer_count = 0;
  };
  Group& group(std::string_view name);

  Digest128 entries_sum_{};
  uint64_t entries_ = 0;
  std::string entry_buf_;
  bool in_entry_ = false;
  std::string last_id_;
  std::optional<int64_t> entries_added_;
  std::optional<std::string> max_deleted_id_;
  std::map<std::string, Group, std::less<>> groups_;
};

// Module and unknown types: the DUMP payload without its 10-byte trailer
// (RDB version + CRC64), so the same value dumped by another server version
// digests the same when the body is the same. Marked with the type name.
Digest128 digest_dump(std::string_view type_name, std::string_view payload);
// The same for a payload's body (no trailer) given in pieces: a big module
// value of a snapshot file, hashed as it is read.
class DumpDigest {
 public:
  explicit DumpDigest(std::string_view type_name = {}) : type_name_(type_name) {}
  void update(std::string_view body);
  Digest128 finish() const;

 private:
  std::string type_name_;
  Xxh3Stream hash_;
  uint64_t size_ = 0;
};

}  // namespace migcheck

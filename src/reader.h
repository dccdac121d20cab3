// The KeyReader: reads the type, TTL and canonical value digest of a batch of
// keys from one Client, pipelined, in steps. Shared by compare, repair
// (re-verify) and replicate --verify.
//
// Steps of a batch (every command of a step goes out in one pipeline):
//   1. TYPE + PTTL of every key (or EXISTS only, for ReadLevel::Exists;
//      grouped as EXISTS k1..k64 on standalone servers);
//   2. the first chunk per type, asking for one element (byte) more than a
//      chunk: GETRANGE 0 W, LRANGE 0 C, HSCAN/SSCAN 0 COUNT C,
//      ZRANGE 0 C WITHSCORES, XINFO STREAM key FULL COUNT C, DUMP for module
//      types. Getting less back proves the key complete in one atomic
//      command, so a small key costs these two steps and no size command
//      (an empty string takes one more TYPE, to tell it from a key that
//      vanished just then);
//   3+. big keys only: the size (STRLEN, LLEN, HLEN, SCARD, ZCARD, XLEN) with
//      each further chunk (GETRANGE windows, LRANGE/ZRANGE index windows,
//      HSCAN/SSCAN cursor, XRANGE/XPENDING pages), one chunk per key per
//      step, so a key that changes under us is seen (status Unstable). List
//      and zset windows start at the last element already read, which must
//      come back first: a push or pop at the head between chunks is seen
//      even when the size is the same again.
// No key is ever read with one unbounded command (except DUMP of module
// types, which has no ranges).
//
// Per-key outcomes (absent, expired in between, WRONGTYPE after a type
// change, NOPERM...) are data in KeyState, never exceptions; only losing the
// server (ConnectionError from the Client) throws. Only read commands are
// sent. Several readers on different clients overlap with read_together().
// A KeyReader is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client.h"
#include "digest.h"
#include "noncopyable.h"
#include "rate_limiter.h"
#include "spill_set.h"

namespace migcheck {

enum class ValueType : uint8_t { None, String, List, Hash, Set, Zset, Stream, Other };

// Milliseconds on this process's monotonic clock (KeyState::expire_at_ms).
int64_t monotonic_ms();

// "string" -> String ...; "none" -> None; any other name (module types) -> Other.
ValueType value_type_from(std::string_view type_name);

// The digest kind of a collection's elements: Hash, Set, Zset, and List for
// any other type (the reader and the snapshot digests share it).
ValueKind collection_kind(ValueType t);

enum class ReadLevel : uint8_t {
  Exists,  // EXISTS only: KeyState::exists (type stays unknown)
  Meta,    // TYPE and PTTL
  Full,    // TYPE, PTTL, size and value digest
};

enum class ReadStatus : uint8_t {
  Ok,        // read completely at the requested level
  Absent,    // no such key (or it expired between TYPE and PTTL)
  Filtered,  // present, but its type is not in ReaderOptions::types
  Unstable,  // changed while read (type changed, vanished, size moved): re-read later
  Error,     // the server refused a command for this key (detail says which)
};

struct KeyState {
  ReadStatus status = ReadStatus::Absent;
  bool exists = false;  // the key existed when first looked at
  ValueType type = ValueType::None;
  std::string type_name = "none";  // TYPE's answer ("hash", a module's name...); "" at Exists level
  int64_t pttl = -2;               // PTTL: -1 persistent, -2 absent, else ms left
  int64_t expire_at_ms = 0;  // expiry on this process's monotonic clock (monotonic_ms()); 0 if none
  Digest128 digest{};        // Full level and status Ok only
  int64_t size = -1;         // bytes (strings), elements (collections), length (streams)
  bool chunked = false;      // a big key, read in more than one chunk
  int64_t field_expiries = 0;  // hashes: fields with an expiry (Redis 7.4+)
  // Hashes: digest of each expiring field's absolute expiry (HPEXPIRETIME),
  // zero when none expires; not part of `digest` (see hash_field_ttl.h).
  Digest128 field_expiry_digest{};
  std::string detail;  // why Unstable or Error

  bool has_expiry() const { return pttl >= 0; }
};

struct ReaderOptions {
  // Collections with more elements than this are read in chunks of this many.
  size_t chunk = 1000;
  // Strings longer than this are read in GETRANGE windows of this size.
  size_t big_string = 1 << 20;
  // The first GETRANGE of every string is capped at this, so that a step of
  // a whole batch stays small; longer strings (up to big_string) take one
  // more step.
  size_t first_string_window = 64 << 10;
  // Bytes of string windows requested in one step across the batch; big
  // strings beyond it wait for the next step.
  size_t step_bytes = 64 << 20;
  // Non-empty: keys of other types end as Filtered after step 1 (lowercase names).
  std::vector<std::string> types{};
  // Stream entries-added, max-deleted-entry-id and group entries-read exist
  // from Redis 7.0 on; turn off when comparing with an older server.
  bool stream_extended_meta = true;
  // Element digests (16 bytes each) of big hashes and sets held in memory by
  // one reader for deduplicating HSCAN/SSCAN; beyond it they are spilled to
  // a temporary file (see DistinctDigests).
  size_t dedupe_digests = size_t{1} << 18;
  // Charged with every command before it is sent (nullptr: unlimited).
  RateLimiter* limiter = nullptr;
};

// Counters of one reader, summed by callers across threads.
struct ReaderStats {
  uint64_t keys = 0;            // keys read (any level)
  uint64_t steps = 0;           // pipelined steps (round trips)
  uint64_t commands = 0;        // commands sent
  uint64_t chunked_keys = 0;    // keys read in chunks (big keys)
  uint64_t chunk_commands = 0;  // commands of steps 3+
  uint64_t unstable = 0;
  uint64_t errors = 0;
  ReaderStats& operator+=(const ReaderStats& o);
};

class KeyReader : NonCopyable {
 public:
  KeyReader(Client& client, ReaderOptions opts = {});
  ~KeyReader();

  // Reads a batch to the end. The result is valid until the next begin()/read().
  std::span<const KeyState> read(std::span<const std::string> keys,
                                 ReadLevel level = ReadLevel::Full);

  // The same, step by step, for overlapping readers (see read_together).
  // `keys` must stay valid until done().
  void begin(std::span<const std::string> keys, ReadLevel level = ReadLevel::Full);
  bool done() const { return done_; }
  // Builds and sends the next step; false (and done()) when nothing is left.
  bool submit_step();
  // Reads and digests the replies of the step in flight.
  void collect_step();
  std::span<const KeyState> results() const { return {states_.data(), nkeys_}; }

  const ReaderStats& stats() const { return stats_; }
  Client& client() { return client_; }
  const ReaderOptions& options() const { return opts_; }

 private:
  struct Work;
  struct Num;
  std::vector<std::string>& add_cmd(std::initializer_list<std::string_view> args);
  void build(size_t i, size_t& string_bytes);
  void process(size_t i, std::span<const Reply> replies, int64_t at_ms);
  void process_meta(size_t i, std::span<const Reply> r, int64_t at_ms);
  void process_first(size_t i, std::span<const Reply> r);
  void process_more(size_t i, std::span<const Reply> r);
  void process_stream_info(size_t i, const Reply& info);
  void process_stream_pages(size_t i, std::span<const Reply> r);
  void finish_ok(size_t i);
  void unstable(size_t i, std::string why);
  void fail(size_t i, std::string_view cmd, const Reply& err);

  Client& client_;
  ReaderOptions opts_;
  ReaderStats stats_;
  DigestBudget dedupe_budget_;  // shared by the keys' DistinctDigests
  ReadLevel level_ = ReadLevel::Full;
  std::span<const std::string> keys_;
  size_t nkeys_ = 0;
  std::vector<KeyState> states_;                // reused across batches
  std::vector<std::unique_ptr<Work>> work_;     // reused across batches
  std::vector<size_t> active_;                  // keys with work left
  std::vector<std::vector<std::string>> cmds_;  // reused command slots
  size_t ncmds_ = 0;
  static constexpr size_t kExistsGroup = 64;
  bool exists_grouped_ = false;                           // the grouped EXISTS step was sent
  std::vector<std::pair<size_t, size_t>> exists_groups_;  // (first active index, keys) per command
  int64_t step_sent_ms_ = 0;
  bool done_ = true;
  bool in_flight_ = false;
  bool field_expiry_ = false;  // the server has hash-field expiration (probed once)
  bool field_expiry_probed_ = false;
};

// One reader's share of an overlapped read.
struct ReadJob {
  KeyReader* reader;
  std::span<const std::string> keys;
  ReadLevel level = ReadLevel::Full;
};

// Runs several readers (on different clients, e.g. source and target) in
// lockstep: step k of every reader is in flight at the same time, so a batch
// costs the round trips of the slowest side, not their sum.
void read_together(std::span<const ReadJob> jobs);
void read_together(KeyReader& a, std::span<const std::string> keys_a, KeyReader& b,
                   std::span<const std::string> keys_b, ReadLevel level = ReadLevel::Full);

}  // namespace migcheck

// Where keys come from: SCAN over every scan node of a Client (MATCH, COUNT,
// TYPE; per-node cursors exposed for checkpoints and resume), or for a
// cluster slot by slot (SlotScanner: exact across failovers and resharding),
// and RANDOMKEY sampling. Both only read, and charge a RateLimiter when given one.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "client.h"
#include "partition.h"
#include "rate_limiter.h"
#include "slot_scanner.h"

namespace migcheck {

// Redis glob semantics (stringmatchlen): * ? [abc] [^a-z] and \ escapes.
bool glob_match(std::string_view pattern, std::string_view s);

struct ScanOptions {
  std::string match{};  // MATCH pattern; empty = every key
  std::string type{};   // SCAN TYPE filter (one type name); empty = every type
  size_t count = 1000;  // COUNT hint per SCAN call
  RateLimiter* limiter = nullptr;
  // A cluster is enumerated slot by slot when its nodes allow it and no
  // TYPE filter is asked for; false forces SCAN per node.
  bool slots = true;
  // --partition: only keys whose slot is in it. A cluster enumerated slot by
  // slot reads only its slots (on their owners); a SCAN drops the keys of
  // other slots before anyone reads their values (counted: keys_outside()).
  Partition partition{};
};

// The last `capacity` distinct keys seen, to drop a repeat. SCAN returns a
// key twice only when the table is resized during the scan, and the repeat
// then comes within a few calls: the buckets of the larger table that fold
// into one bucket of the smaller table are consecutive in cursor order.
// Every key of a scan passes through here: the keys live in a ring whose
// strings keep their buffers, indexed by an open-addressing table of their
// hashes, so that remembering a key allocates nothing once warmed up.
class RecentKeys {
 public:
  explicit RecentKeys(size_t capacity) : capacity_(capacity) {}
  // True if `key` is among the remembered keys; otherwise remembers it.
  bool seen(const std::string& key);

 private:
  size_t find(uint64_t h, std::string_view key) const;  // table position, or npos
  void erase_at(size_t pos);

  size_t capacity_;
  std::vector<std::string> ring_;  // remembered keys; the oldest at next_ once full
  std::vector<uint64_t> hashes_;   // parallel to ring_
  size_t next_ = 0;
  // Linear probing: ring index + 1 per slot, 0 = empty; at most half full.
  std::vector<uint32_t> table_;
  size_t mask_ = 0;
};

// Where one node's scan stands. `address` identifies the node across runs.
struct NodeCursor {
  std::string address;
  std::string cursor = "0";
  bool done = false;
  uint64_t keys = 0;  // keys returned so far on this node
};

class Scanner {
 public:
  Scanner(Client& client, ScanOptions opts);

  // One SCAN call on the next unfinished node (round robin over nodes) and
  // its keys appended to `out` (possibly none), without the repeats SCAN
  // makes while the table is resized. False once every node is done.
  // Throws ProtocolError if the server refuses SCAN, ConnectionError if lost.
  bool next(std::vector<std::string>& out);
  bool done() const;

  const std::vector<NodeCursor>& cursors() const { return cursors_; }
  // Continue from saved cursors (matched by node address; nodes not in
  // `saved` start from 0, saved nodes that are gone are an error).
  void restore(const std::vector<NodeCursor>& saved);
  // The position to checkpoint: per-node cursors (a JSON array) or, slot by
  // slot, the slots done (an object).
  nlohmann::json cursors_json() const;
  // Continues from a position cursors_json() gave (either kind).
  void restore_position(const nlohmann::json& j);
  bool by_slot() const { return slots_ != nullptr; }
  const SlotScanner* slot_scanner() const { return slots_.get(); }
  static std::vector<NodeCursor> cursors_from_json(const nlohmann::json& j);

  uint64_t keys_seen() const { return keys_; }
  uint64_t repeats_dropped() const { return repeats_; }
  // Keys a SCAN returned whose slot is outside the partition (dropped).
  uint64_t keys_outside() const { return outside_; }

 private:
  size_t node_index(size_t c);
  void add_scan_nodes();
  Client& client_;
  ScanOptions opts_;
  std::vector<NodeCursor> cursors_;
  std::vector<size_t> nodes_;       // parallel to cursors_: index into client.nodes()
  std::vector<RecentKeys> recent_;  // parallel to cursors_
  std::unique_ptr<SlotScanner> slots_;
  size_t next_ = 0;
  uint64_t keys_ = 0;
  uint64_t repeats_ = 0;
  uint64_t outside_ = 0;
};

struct SampleOptions {
  uint64_t keys = 1000;  // distinct keys wanted in total
  std::string match{};   // keys not matching are drawn but not returned
  RateLimiter* limiter = nullptr;
};

// Draws distinct keys with pipelined RANDOMKEY, from every scan node in
// proportion to its key count. Stops short of `keys` when the keyspace (or
// the part matching) is smaller, or draws keep repeating.
class Sampler {
 public:
  Sampler(Client& client, SampleOptions opts);
  // Appends a batch of new distinct keys; false when the sample is complete.
  bool next(std::vector<std::string>& out);
  uint64_t sampled() const { return sampled_; }
  uint64_t draws() const { return draws_; }

 private:
  struct NodeQuota {
    size_t node;
    uint64_t quota = 0;
    uint64_t got = 0;
    uint64_t draws = 0;
    bool done = false;
  };
  Client& client_;
  SampleOptions opts_;
  std::vector<NodeQuota> nodes_;
  std::unordered_set<std::string> seen_;
  size_t next_ = 0;
  uint64_t sampled_ = 0;
  uint64_t draws_ = 0;
};

}  // namespace migcheck

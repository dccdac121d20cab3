// The snapshot compare's (snapshot_compare.h) batches and their queue, and
// the file key states it keeps outside a KeyState: the fixed-size record of
// a second file's key in a KeyHashTable, and the file side's digest read
// back from a difference row's hex column.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rdb_digest.h"
#include "reader.h"

namespace migcheck {

// Keys of one db with their source-side states, for the workers.
struct Batch {
  int db = 0;  // source db
  std::vector<std::string> keys;
  std::vector<KeyState> src;
  // Round 1's target keys the file does not hold: only whether they are
  // still there, and their type, are read (TYPE, PTTL), not their values.
  bool extras = false;
  uint64_t seq = 0;          // its place in the round: batches are committed in this order
  uint64_t next_offset = 0;  // round 1's stream: the file offset after its last key's type byte
};

class BatchQueue {
 public:
  explicit BatchQueue(size_t cap) : cap_(cap) {}
  bool push(Batch b) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < cap_ || closed_; });
    if (closed_) return false;
    q_.push_back(std::move(b));
    not_empty_.notify_one();
    return true;
  }
  std::optional<Batch> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_ || ended_; });
    if (closed_ || q_.empty()) return std::nullopt;
    Batch b = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return b;
  }
  void end() {  // no more pushes; workers drain what is queued
    std::lock_guard lock(mu_);
    ended_ = true;
    not_empty_.notify_all();
  }
  void close() {  // abort: queued batches are dropped
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  const size_t cap_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> q_;
  bool ended_ = false, closed_ = false;
};

// The payload bytes of encode_state.
constexpr size_t kTypeName = 16;
constexpr size_t kStatePayload = kTypeName + 1 + 8 + 16 + 8;
// A file key's type name (truncated to kTypeName bytes: module type names
// have 9), expiry, digest and size, as kStatePayload bytes.
std::string encode_state(const RdbKeyState& s);
RdbKeyState decode_state(std::string_view payload);
// Digest128::hex() read back; nullopt if not 32 lowercase hex digits.
std::optional<Digest128> digest_from_hex(std::string_view hex);

}  // namespace migcheck

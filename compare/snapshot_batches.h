// The snapshot compare's (snapshot_compare.h) batches and their queue, and
// the file key states it keeps outside a KeyState: the fixed-size record of
// a second file's key in a KeyHashTable, and the file side's digest read
// back from a difference row's hex column.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rdb_digest.h"
#include "reader.h"
#include "work_queue.h"

namespace migcheck {

// Where a key is in its file: the offset of its type byte and its value's
// size there (RdbKeyState::offset, serialized_bytes); bytes 0: not known.
struct FileSpot {
  uint64_t offset = 0, bytes = 0;
};
// A FileSpot as kSpotBytes bytes at `at` (in encode_state's record and the
// value locator's table alike).
constexpr size_t kSpotBytes = 16;
void put_spot(char* at, FileSpot spot);
FileSpot get_spot(const char* at);

// Keys of one db with their source-side states, for the workers.
struct Batch {
  int db = 0;  // source db
  std::vector<std::string> keys;
  std::vector<KeyState> src;
  std::vector<FileSpot> spots;  // round 1's stream: each key's place (snapshot_locate.h)
  // Round 1's target keys the file does not hold: only whether they are
  // still there, and their type, are read (TYPE, PTTL), not their values.
  bool extras = false;
  uint64_t seq = 0;          // its place in the round: batches are committed in this order
  uint64_t next_offset = 0;  // round 1's stream: the file offset after its last key's type byte
};

// The workers' batches: close() once the producer is through (they drain
// what is queued), abort() on a signal or an error (queued ones dropped).
using BatchQueue = WorkQueue<Batch>;

// The payload bytes of encode_state.
constexpr size_t kTypeName = 16;
constexpr size_t kStatePayload = kTypeName + 1 + 8 + 16 + 8 + kSpotBytes;
// A file key's type name (truncated to kTypeName bytes: module type names
// have 9), expiry, digest, size and place in the file, as kStatePayload bytes.
std::string encode_state(const RdbKeyState& s);
RdbKeyState decode_state(std::string_view payload);
// Digest128::hex() read back; nullopt if not 32 lowercase hex digits.
std::optional<Digest128> digest_from_hex(std::string_view hex);

}  // namespace migcheck

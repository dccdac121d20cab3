// KeyHashTable: a write-once, then read-only table of fixed-size records
// keyed by a 128-bit hash, in bounded memory, for the snapshot compare
// (snapshot_compare.h): the (db, key) hashes of a file's keys, to tell the
// target's extra keys, and a second file's key states, to look a first
// file's keys up in.
//
// Records are added in any order; up to a budget they are held in memory,
// beyond it sorted and written as a run to a temporary file (unlinked as
// soon as created). seal() merges the runs into one sorted file and keeps
// every kIndexStride-th hash in memory, so a lookup is a binary search in
// memory and one pread of one block. Memory: the budget while adding, a
// small buffer per run while merging, 1/kIndexStride of the hashes after.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "digest.h"
#include "fd.h"
#include "noncopyable.h"

namespace migcheck {

// The hash of (db, key) that the tables are keyed by.
Digest128 db_key_hash(int db, std::string_view key);

class KeyHashTable : NonCopyable {
 public:
  // `payload` bytes follow each 16-byte hash; `budget` records in memory.
  explicit KeyHashTable(size_t payload = 0, size_t budget = size_t{1} << 18);

  // Before seal(). `payload` must be payload() bytes. A hash added twice
  // keeps one of its records. Throws Error when the file cannot be written.
  void add(const Digest128& hash, std::string_view payload = {});
  void seal();
  // After seal(): the record's payload, or nullopt.
  std::optional<std::string> find(const Digest128& hash) const;
  bool contains(const Digest128& hash) const { return find(hash).has_value(); }

  size_t payload() const { return payload_; }
  uint64_t size() const { return sealed_count_; }  // distinct hashes, after seal()
  size_t runs() const { return runs_.size(); }     // runs written (tests)

  static constexpr size_t kIndexStride = 128;

 private:
  void spill();
  std::string read_at(uint64_t offset_bytes, size_t n) const;

  size_t payload_, rec_, budget_;
  std::string mem_;  // unsorted records in memory
  Fd runs_file_, sorted_;
  struct Run {
    uint64_t offset = 0;  // in records
    uint64_t count = 0;
  };
  std::vector<Run> runs_;
  uint64_t runs_records_ = 0;
  bool sealed_ = false;
  uint64_t sealed_count_ = 0;
  std::vector<Digest128> index_;  // hash of record i * kIndexStride
};

}  // namespace migcheck

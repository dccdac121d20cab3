// `compare dump.rdb TARGET --sample N` (snapshot_compare.h): the file's side
// of the sample, N keys drawn uniformly at random per db while the file
// streams by once (a reservoir: memory proportional to N, never to the
// file), and the target keys looked up in the file for extras: every key of
// a target db (SCAN), or, in a sampled run, N of them drawn with RANDOMKEY
// as the live compare's --sample draws them (scanner.h, Sampler).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "noncopyable.h"
#include "rdb_digest.h"
#include "scanner.h"

namespace migcheck {

// A uniform random sample of at most `capacity` items of a stream whose
// length is not known in advance (Algorithm R): once n items were offered,
// each of them is held with probability capacity/n.
template <typename T>
class Reservoir {
 public:
  Reservoir(uint64_t capacity, uint64_t seed) : capacity_(capacity), rng_(seed) {}

  // The next item of the stream: kept (copied) while there is room, then
  // in place of a held one with probability capacity/seen.
  void offer(const T& item) {
    ++seen_;
    if (items_.size() < capacity_) {
      items_.push_back(item);
      return;
    }
    const uint64_t j = std::uniform_int_distribution<uint64_t>(0, seen_ - 1)(rng_);
    if (j < capacity_) items_[static_cast<size_t>(j)] = item;
  }

  uint64_t seen() const { return seen_; }
  // Every item offered is held: the sample is the whole stream.
  bool holds_all() const { return seen_ <= capacity_; }
  const std::vector<T>& items() const { return items_; }

 private:
  uint64_t capacity_;
  std::mt19937_64 rng_;
  uint64_t seen_ = 0;
  std::vector<T> items_;
};

// The sampled keys of a snapshot file: a reservoir of `per_db` key states
// for each db the file's stream yields keys of.
class FileKeySample {
 public:
  explicit FileKeySample(uint64_t per_db, uint64_t seed = std::random_device{}())
      : per_db_(per_db), rng_(seed) {}
  void offer(const RdbKeyState& k);
  // Every key of every db was kept: the sample is the whole file's scope.
  bool holds_all() const;
  // Hands every kept key to `add`, db by db, and logs what was drawn.
  // Returns whether the keys are a sample (false: holds_all()).
  bool yield_keys(const std::function<void(const RdbKeyState&)>& add) const;

 private:
  uint64_t per_db_;
  std::mt19937_64 rng_;  // seeds each db's reservoir
  std::map<int, Reservoir<RdbKeyState>> dbs_;
};

// The keys of one target db to look up in the file: all of them (SCAN with
// `so`), or with `sample` > 0 that many drawn at random (its MATCH only:
// the type of a drawn key is checked once it is read).
class TargetKeys : NonCopyable {
 public:
  TargetKeys(Client& client, const ScanOptions& so, uint64_t sample);
  ~TargetKeys();
  // Appends keys; false when there are no more.
  bool next(std::vector<std::string>& out);

 private:
  std::unique_ptr<Scanner> scan_;
  std::unique_ptr<Sampler> sample_;
};

}  // namespace migcheck

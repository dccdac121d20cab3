// One partition of a job split over several processes (--partition K/N):
// the K-th of N ranges of the 16384 cluster hash slots, the key's slot
// computed as the cluster does (CRC16 of the key or its hash tag), for
// standalone servers too. Partition K covers the slots
// [floor((K-1)*16384/N), floor(K*16384/N)): every slot in exactly one
// partition, sizes differing by at most one. Also its recorded JSON and the
// optional job id that tells the stores of one job from another's.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace migcheck {

struct Partition {
  int index = 0;    // K, from 1; 0 with count 0: the whole keyspace
  int count = 0;    // N
  std::string job;  // --job-id: empty unless given

  bool active() const { return count > 0; }
  int first_slot() const;  // inclusive
  int end_slot() const;    // exclusive
  bool contains_slot(int slot) const;
  // Always true for an inactive partition.
  bool contains_key(std::string_view key) const;
  // "2/3"
  std::string text() const;
  // "5461-10922" (inclusive, as CLUSTER SLOTS writes ranges)
  std::string slots_text() const;
  bool operator==(const Partition&) const = default;
};

// "K/N" with 1 <= K <= N <= 16384; throws UsageError naming the flag.
Partition parse_partition(std::string_view text);

// {"index": K, "count": N, "first_slot": a, "last_slot": b[, "job": id]}
nlohmann::json partition_json(const Partition& p);
// The partition a run recorded (its options' "partition"); nullopt when
// absent or malformed.
std::optional<Partition> partition_from_json(const nlohmann::json& j);

}  // namespace migcheck

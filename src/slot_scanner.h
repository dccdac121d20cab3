// Exact enumeration of a Redis Cluster's keys, slot by slot: pages of
// CLUSTER GETKEYSINSLOT sent to each slot's current owner, bracketed by that
// node's own CLUSTER NODES view before and after (a pipeline runs in order on
// one node, so the two views bound the reads). A slot counts as read only
// when its owner held it in both views; a slot being migrated is read on its
// migrating node first and then on its importing node (keys only move from
// the first to the second), the union taken once. A slot whose owner changed
// (failover, reshard) is read again at its new owner. Progress and
// checkpoints are the set of slots done, valid across topology changes.
#pragma once

#include <nlohmann/json.hpp>

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "client.h"
#include "partition.h"
#include "rate_limiter.h"
#include "slot.h"
#include "transient.h"

namespace migcheck {

class SlotScanner {
 public:
  // `match`: Redis glob applied here (GETKEYSINSLOT has no MATCH);
  // `page_keys`: about how many keys one page returns (memory bound, besides
  // one slot's keys).
  SlotScanner(Client& client, std::string match, size_t page_keys, RateLimiter* limiter);

  // Whether every scan node of `client` serves CLUSTER NODES and
  // CLUSTER GETKEYSINSLOT (managed services may refuse them); with a
  // partition, only the nodes serving its slots are asked.
  static bool supported(Client& client, const Partition& partition);

  // --partition: only the slots [first, end) are read; the others count as
  // done from the start (so the position and done() need no other change),
  // and their owners are never contacted.
  void limit_to(int first, int end);

  // One page: its keys appended to `out` (possibly none, e.g. while a node
  // fails over). False once every slot is done.
  bool next(std::vector<std::string>& out);
  bool done() const { return done_count_ == kSlots; }

  // {"slots_done": "0-99,200", "keys": N}
  nlohmann::json position() const;
  void restore(const nlohmann::json& j);
  static bool is_position(const nlohmann::json& j);

  uint64_t keys_seen() const { return keys_; }
  // Slots read again because their owner changed under the read.
  uint64_t slots_reread() const { return reread_; }
  // Slots read on two nodes because they were being migrated.
  uint64_t slots_split() const { return split_; }
  // Replica reads (--read-from replica): slots read again on their primary
  // because it was migrating them (a replica's CLUSTER NODES does not show a
  // migration) or because the replica lagged behind it.
  uint64_t slots_to_primary() const { return to_primary_; }

 private:
  struct View;
  // Reads `slots` on `node` bracketed by two CLUSTER NODES; returns the
  // per-slot keys and both views. Throws ConnectionError.
  bool read_page(size_t node, const std::vector<int>& slots,
                 std::vector<std::vector<std::string>>& keys, View& pre, View& post);
  static void parse_view(const Reply& r, View& v, const std::string& endpoint);
  // Before a replica page: the replica has applied everything its primary
  // had when the page starts (so a key the primary held then is on the
  // replica). False: lagging, or unknown while the primary is unreachable.
  bool replica_caught_up(size_t replica, size_t primary);
  void emit(int slot, std::vector<std::string>& keys, std::vector<std::string>& out);
  void mark_done(int slot);
  // Once the last slot is read: says (info) which slots were read again,
  // on two nodes or on a primary, the evidence of what moved under the read.
  void say_moves();

  Client& client_;
  std::string match_;
  size_t page_keys_;
  RateLimiter* limiter_;
  std::bitset<kSlots> done_;
  std::bitset<kSlots> primary_only_;  // replica reads: read these on the primary
  bool offsets_unknown_ = false;      // INFO refused: replica lag not checked (said once)
  int done_count_ = 0;
  int cursor_ = 0;          // next slot to consider
  size_t page_slots_ = 16;  // adapted to the keys per slot seen
  transient::Wait wait_;    // while no page makes progress
  uint64_t keys_ = 0, reread_ = 0, split_ = 0, to_primary_ = 0;
  bool moves_said_ = false;
};

// "0-99,200" <-> bitset
std::string slot_ranges(const std::bitset<kSlots>& s);
std::bitset<kSlots> parse_slot_ranges(std::string_view text);

}  // namespace migcheck

// The copy engine's state and steps (internal to replicate/: copier.cc,
// by_type_writer.cc, big_key_copy.cc): Copier::Impl, with the helpers its
// files share. Not for use outside the copier; the interface is copier.h.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "copier.h"
#include "slot_tag.h"
#include "stream_copy.h"
#include "wall_clock.h"

namespace migcheck {
namespace copy_internal {

// Temporary keys carry this TTL while they are built, so a value abandoned by
// a crash or a lost connection vanishes on its own.
constexpr int64_t kTempTtlMs = 60 * 60 * 1000;

inline bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

inline bool icontains(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

// A command refused by configuration or ACL rather than failing on this key.
bool is_refusal(const Reply& r);

// The types that can be written by type (not modules, not vector sets).
inline bool known_type(std::string_view t) {
  return t == "string" || t == "list" || t == "hash" || t == "set" || t == "zset" || t == "stream";
}

// Appends `cmd tmp e1 e2 ...` commands holding at most max_elems elements
// (pairs count as 2) and about max_bytes each. swap_pairs turns ZRANGE's
// member,score into ZADD's score,member. Returns the value bytes.
uint64_t push_chunked(std::vector<Command>& out, std::string_view cmd, const std::string& tmp,
                      std::vector<Reply>& elems, size_t group, size_t max_elems, uint64_t max_bytes,
                      bool swap_pairs = false);

}  // namespace copy_internal

struct Copier::Impl {
  struct Item {
    std::string key;
    SteadyTime queued{};
    int attempts = 0;
    bool by_type = false;       // this key goes by type (refused payload)
    bool probed_mem = false;    // MEMORY USAGE was in its probe
    bool probed_type = false;   // TYPE was in its probe
    bool read_by_type = false;  // its read stage fetched the value by type
    int64_t mem = -1;
    std::string type;
    std::string restore_error;  // why RESTORE refused it
  };
  enum class Kind { Restore, Delete, ByType };
  struct Write {
    Item item;
    Kind kind = Kind::Restore;
    size_t first = 0, count = 0;
    std::string tmp;
    uint64_t bytes = 0;
    std::string detail;
  };
  enum class Via { Restore, ByType, Chunked, Delete, None };
  struct Pipelined {
    bool again = false;
    SteadyTime again_queued{};
  };

  Impl(Client& s, Client& t, CopyOptions o, Sink k);

  // Hash fields' expiries (Redis 7.4+ sources) go with a by-type copy of a
  // hash (whole, or the fields of one chunk): HPEXPIREAT commands on `tmp`
  // appended to `out`. A target without field expiration gets a failure
  // naming what would be lost, never a silent loss. Empty: fine; else
  // {error, detail} for the key's failed outcome. `whole` is false for one
  // chunk of a big hash: the count named is then a lower bound.
  std::optional<std::pair<std::string, std::string>> field_expiries(const std::string& key,
                                                                    const std::string& tmp,
                                                                    std::span<const Reply> pairs,
                                                                    std::vector<Command>& out,
                                                                    bool whole = true);

  Client& src;
  Client& tgt;
  CopyOptions opts;
  Sink sink;
  CopyCounters counters;
  std::deque<Item> pending;         // to probe
  std::deque<Item> probed;          // to read
  std::vector<Command> write_cmds;  // built in this step, sent in the next
  std::vector<Write> writes;
  std::vector<CopyResult> results;
  std::vector<std::string> cleanup;  // temporary keys to delete on the target
  std::unordered_map<std::string, Pipelined> in_pipeline;
  bool have_pexpiretime = false;
  bool src_field_expiry = false;  // hash-field expiration (Redis 7.4+) on the source
  bool tgt_field_expiry = false;  // ... and on the target
  bool memory_refused = false;
  bool dump_refused = false;
  bool skew_warned = false;
  TempKeyNames temp_names;

  bool by_type(const Item& it) const {
    return opts.structural || it.by_type || dump_refused || opts.shared->restore_refused.load();
  }
  bool wants_type(const Item& it) const {
    return by_type(it) || !opts.types.empty() || memory_refused;
  }

  std::string new_temp(std::string_view key) { return temp_names.next(key); }

  Command ttl_cmd(const std::string& key) const {
    return {have_pexpiretime ? "PEXPIRETIME" : "PTTL", key};
  }

  // Source expiry reply -> -2 gone, -1 persistent, else absolute ms on the
  // target's clock. `t_local` is when the reply was (about to be) produced,
  // on this host's wall clock. PEXPIRETIME is on the source's clock: moved
  // by the measured skew, but only by one larger than its own error (a
  // shared clock is never shifted by measurement noise). PTTL is relative:
  // it becomes the target's time through the target's offset alone.
  int64_t target_expiry(const std::string& key, int64_t reply, int64_t t_local);
  bool expired_on_target(const std::string& key, int64_t abs);

  // Hands a decided key back: result, counters, and a second pass when the
  // key changed while it was in the pipeline.
  void finish(Item& it, Via via, Outcome::Result outcome, std::string error, std::string detail,
              uint64_t bytes = 0, std::string type = {});

  void requeue(Item& it) {
    it.probed_mem = it.probed_type = false;
    it.mem = -1;
    it.type.clear();
    pending.push_front(std::move(it));
  }

  // A write of `it` lost its connection before the target answered: it may
  // or may not have been applied, and sending it again could apply it twice
  // (RPUSH, APPEND...). The key is copied again from the source, from scratch
  // and into a new temporary key, a bounded number of times.
  void redo_after_lost(Item& it, Via via, const std::string& error, uint64_t bytes);

  void add(std::string key, SteadyTime queued);
  void schedule_delete(Item& it, std::string detail);
  void append_probe(std::vector<Command>& out, Item& it);

  static Command read_cmd(const std::string& type, const std::string& key) {
    if (type == "string") return {"GET", key};
    if (type == "list") return {"LRANGE", key, "0", "-1"};
    if (type == "hash") return {"HGETALL", key};
    if (type == "set") return {"SMEMBERS", key};
    if (type == "zset") return {"ZRANGE", key, "0", "-1", "WITHSCORES"};
    return {"XINFO", "STREAM", key, "FULL", "COUNT", "0"};
  }

  void step();
  void process_writes(std::vector<Write>& ws, std::vector<Reply>& tr);
  void process_reads(std::vector<Item>& items, std::vector<Reply>& sr, int64_t t_local);
  void process_probes(std::vector<Item>& items, std::vector<Reply>& sr, size_t base,
                      std::vector<Item>& big);
  void measure_by_length(std::vector<Item>& items);
  void build_by_type(Item& it, int64_t abs, Reply& value);
  void copy_big(Item& it);
  void deliver() {
    if (results.empty()) return;
    if (sink) sink(results);
    results.clear();
  }
};

}  // namespace migcheck

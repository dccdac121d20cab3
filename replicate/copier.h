// The copy engine shared by `repair` and `replicate`: makes each given key on
// the target equal to that key on the source as it is now. Small values go
// DUMP -> RESTORE ... REPLACE ABSTTL; big values, --struct, and payloads the
// target refuses go by type (chunked reads on the source, chunked writes into
// a temporary key in the same hash slot, then RENAME), so no reader of the
// target ever sees half a value. Keys gone from the source are deleted on the
// target. Work is pipelined in steps: each step sends one batch of probes and
// one batch of reads to the source while the target applies the writes built
// in the step before. Per-key results are data (Outcome), never exceptions.
// No CLI here: both commands drive it.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client.h"
#include "noncopyable.h"
#include "rate_limiter.h"
#include "slot_tag.h"
#include "store.h"

namespace migcheck {

using SteadyTime = std::chrono::steady_clock::time_point;

// Shared by the copiers of one run (one per connection): once the target
// refuses the source's DUMP payloads (RDB version) every copier goes by type.
struct CopyShared {
  std::atomic<bool> restore_refused{false};
  std::atomic<bool> announced{false};
};

struct CopyOptions {
  int db = 0;                          // recorded in outcomes
  bool structural = false;             // --struct: never DUMP/RESTORE, always by type
  bool dry_run = false;                // decide and report ("planned"), write nothing
  uint64_t mem_limit = 0;              // MEMORY USAGE above this: skipped (0 = no limit)
  std::vector<std::string> types;      // only keys of these types (empty = all)
  size_t batch = 500;                  // keys probed / read / written per step
  size_t chunk_elements = 1000;        // elements per command when going by type
  uint64_t chunk_bytes = 1 << 20;      // bytes per command when going by type
  uint64_t big_bytes = 1 << 20;        // MEMORY USAGE above this: read in chunks
  uint64_t step_bytes = 64 << 20;      // bound on value bytes held per step
  int max_attempts = 5;                // a key that keeps changing type mid-copy
  std::shared_ptr<CopyShared> shared;  // optional; one per copier otherwise
  RateLimiter* limiter = nullptr;      // charged with every source command
};

// Per-run counters; copiers of several connections are summed with +=.
struct CopyCounters {
  int64_t keys = 0;       // results produced
  int64_t copied = 0;     // target now holds the source's value
  int64_t restored = 0;   // ... of which by RESTORE
  int64_t fallbacks = 0;  // ... of which by type, whole values (--struct or refused payload)
  int64_t chunked = 0;    // ... of which by type in chunks (big values)
  int64_t deleted = 0;    // gone from the source: deleted on the target
  int64_t skipped = 0;    // not copied on purpose (--mem-limit, module type...)
  int64_t filtered = 0;   // type not selected (CopyOptions::types): not counted as skipped
  int64_t failed = 0;
  int64_t planned = 0;  // dry run
  uint64_t bytes = 0;   // value bytes of the keys copied (refused writes are not counted)
  CopyCounters& operator+=(const CopyCounters& o);
  CopyCounters& operator-=(const CopyCounters& o);
};
// As JSON in resume checkpoints.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CopyCounters, keys, copied, restored, fallbacks,
                                                chunked, deleted, skipped, filtered, failed,
                                                planned, bytes)

struct CopyResult {
  Outcome outcome;
  SteadyTime queued{};  // as given to add(): lag = done - queued
  SteadyTime done{};    // when the target acknowledged (or the outcome was decided)
  uint64_t bytes = 0;
  std::string type;  // the source type when known ("none" when gone)
};

class Copier : NonCopyable {
 public:
  // Called after each step with the results completed in it.
  using Sink = std::function<void(std::vector<CopyResult>&)>;

  // Nobody else may use the clients while the copier works (between step()
  // calls nothing is in flight, so callers may use them then).
  Copier(Client& source, Client& target, CopyOptions opts, Sink sink = {});
  ~Copier();

  // Queues keys. A key already in the pipeline is not queued twice: it is
  // copied once more after its current pass, so a change made after its read
  // is never lost and two passes of one key never race on the target.
  void add(std::span<const std::string> keys, SteadyTime queued = {});
  void add(std::string key, SteadyTime queued = {});

  // One overlapped round trip on both servers, plus any chunked copies and
  // clean-ups decided in it. Does nothing when idle().
  void step();
  // Steps until nothing is queued or in flight.
  void drain();
  bool idle() const;
  // Keys queued or in the pipeline.
  size_t backlog() const;
  // Keys queued and not yet probed: feed about options().batch of them per step.
  size_t waiting() const;

  // For batch callers (repair): add + drain; the results in completion
  // order (also given to the sink when there is one).
  std::vector<CopyResult> copy(std::span<const std::string> keys);

  const CopyCounters& counters() const;
  const CopyOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether a RESTORE error means "this payload cannot be loaded here" (RDB
// version or checksum, undecodable body, unknown module type, RESTORE itself
// refused), so writing by type may work; as opposed to OOM, READONLY...
bool restore_error_wants_fallback(std::string_view error);

}  // namespace migcheck

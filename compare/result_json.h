// The JSON of a compare run's results that every compare engine records the
// same way (the live compare and the snapshot compare): reader counters, big
// keys, per-database counts, and a round's record. Reports read these shapes
// from the store, so there is one writer for each.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "clock_skew.h"
#include "compare.h"
#include "reader.h"
#include "store.h"

namespace migcheck {

// A reader's counters (totals.source_reader, totals.target_reader), each
// under its field's name.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ReaderStats, keys, steps, commands, chunked_keys,
                                                chunk_commands, unstable, errors)

// A big key as totals.big_keys and checkpoints list it, binary-safe the way
// the reports write keys: text as "key", other bytes as "key_base64".
nlohmann::json big_key_json(const BigKeyInfo& k);

// totals.big_keys: how many, and the first kBigKeysListed of them.
nlohmann::json big_keys_json(int64_t count, const std::vector<BigKeyInfo>& listed);

// totals.databases: keys checked and differences per (source, target) db.
nlohmann::json databases_json(const std::vector<CompareResult::Database>& dbs);

// The totals every compare engine records of its result: the counts, the
// rounds, the differences by kind and by type, what each side's reader did,
// the clock skew and the databases. The engine adds its own (partition, big
// keys, snapshot files).
nlohmann::json compare_totals_json(const CompareResult& r, bool sampled,
                                   const ReaderStats& source_reader, const ClockSkew& clock);

// The store's record of a finished round that took `rs.elapsed_ms` and ended now.
RoundRecord round_record(int64_t run_id, const RoundSummary& rs);

}  // namespace migcheck

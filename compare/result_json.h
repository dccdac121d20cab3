// The JSON of a compare run's results that every compare engine records the
// same way (the live compare and the snapshot compare): reader counters, big
// keys, per-database counts, and a round's record. Reports read these shapes
// from the store, so there is one writer for each.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "compare.h"
#include "reader.h"
#include "store.h"

namespace migcheck {

nlohmann::json reader_stats_json(const ReaderStats& s);

// A big key as totals.big_keys and checkpoints list it, binary-safe the way
// the reports write keys: text as "key", other bytes as "key_base64".
nlohmann::json big_key_json(const BigKeyInfo& k);

// totals.big_keys: how many, and the first kBigKeysListed of them.
nlohmann::json big_keys_json(int64_t count, const std::vector<BigKeyInfo>& listed);

// totals.databases: keys checked and differences per (source, target) db.
nlohmann::json databases_json(const std::vector<CompareResult::Database>& dbs);

// The store's record of a finished round that took `rs.elapsed_ms` and ended now.
RoundRecord round_record(int64_t run_id, const RoundSummary& rs);

}  // namespace migcheck

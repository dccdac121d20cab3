// The store's on-disk schema: its identity (application_id 'MIGC'), its
// version (user_version), the tables a new store is made with, and the
// statements that upgrade an older one. docs/store.md describes it for
// people who query the store.
#pragma once

#include <cstdint>

namespace migcheck::store_schema {

constexpr int32_t kApplicationId = 0x4D494743;  // 'MIGC'
// 2: differences_key, which lets a round ignore a key it already recorded
// (SCAN may return a key twice).
// 3: differences.location, where a value difference is (JSON, see
// Difference::location). Stores of schemas 1 and 2 are upgraded on open.
constexpr int64_t kSchemaVersion = 3;

// differences_page exists for the paging of for_each_difference: its
// implicit rowid suffix lets "run=? AND round=? AND id>? ORDER BY id" seek
// and read in order; with only (run, round, kind) SQLite sorts every page.
constexpr const char* kSchema = R"sql(
CREATE TABLE runs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  command TEXT NOT NULL,
  parent INTEGER REFERENCES runs(id),
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  exit_code INTEGER NOT NULL DEFAULT -1,
  source TEXT NOT NULL DEFAULT '',
  target TEXT NOT NULL DEFAULT '',
  options_json TEXT NOT NULL DEFAULT '',
  source_info_json TEXT NOT NULL DEFAULT '',
  target_info_json TEXT NOT NULL DEFAULT '',
  totals_json TEXT NOT NULL DEFAULT '',
  version TEXT NOT NULL DEFAULT '');
CREATE TABLE rounds(
  run INTEGER NOT NULL REFERENCES runs(id),
  round INTEGER NOT NULL,
  keys_checked INTEGER NOT NULL DEFAULT 0,
  differences INTEGER NOT NULL DEFAULT 0,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(run, round));
CREATE TABLE differences(
  id INTEGER PRIMARY KEY,
  run INTEGER NOT NULL REFERENCES runs(id),
  round INTEGER NOT NULL,
  db INTEGER NOT NULL,
  key BLOB NOT NULL,
  kind TEXT NOT NULL,
  source_type TEXT NOT NULL,
  target_type TEXT NOT NULL,
  source_ttl_ms INTEGER NOT NULL,
  target_ttl_ms INTEGER NOT NULL,
  source_digest TEXT NOT NULL,
  target_digest TEXT NOT NULL,
  source_size INTEGER NOT NULL,
  target_size INTEGER NOT NULL,
  detail TEXT NOT NULL,
  location TEXT NOT NULL DEFAULT '');
CREATE INDEX differences_by_kind ON differences(run, round, kind);
CREATE INDEX differences_page ON differences(run, round);
CREATE INDEX differences_key ON differences(run, round, db, key, kind);
CREATE TABLE outcomes(
  id INTEGER PRIMARY KEY,
  run INTEGER NOT NULL REFERENCES runs(id),
  db INTEGER NOT NULL,
  key BLOB NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL,
  error TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX outcomes_by_run ON outcomes(run);
CREATE TABLE checkpoints(
  run INTEGER NOT NULL REFERENCES runs(id),
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(run, name));
)sql";

// Schema 1 -> 2: one index; the rows are unchanged.
constexpr const char* kUpgradeFrom1 =
    "CREATE INDEX IF NOT EXISTS differences_key ON differences(run, round, db, key, kind)";
// Schema 2 -> 3: a column; rows recorded before have no location.
constexpr const char* kUpgradeFrom2 =
    "ALTER TABLE differences ADD COLUMN location TEXT NOT NULL DEFAULT ''";

}  // namespace migcheck::store_schema

// What a run covered and whether its result still holds: the checks that
// decide between READY and INCOMPLETE (filters, sampling, databases left
// out), and NOT READY for a target written after the compare or a "target"
// that is the source itself; plus what a limited user could not check, and
// the database pairs a compare run compared. Pure functions of the model.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "report_model.h"

namespace migcheck {

// (source db, target db) pairs the run compared: totals.databases when the
// run recorded it ([{"source_db": S, "target_db": T, ...}]), else from its
// options: "db" (one source db) mapped by "target_db" (one db, or an object
// {"<source db>": <target db>}); without "db", every db of the source mapped
// by target_db, and without either, every db of both sides onto itself.
std::vector<std::pair<int, int>> compared_databases(const ReportModel& m);

// Compare runs: --match/--type/--sample/--no-target-scan make it incomplete.
Check keyspace_scope(const ReportModel& m);
// Compare runs: every db holding keys on either side must have been compared.
Check database_coverage(const ReportModel& m);
// Compare runs: no repair/replicate wrote to the target after the compare.
Check written_after(const ReportModel& m);
// Source and target must be two servers (INFO run_id, cluster node ids).
Check distinct_servers(const ReportModel& m);
// What the run's users could not check (INFO or CONFIG refused); a warning.
std::optional<Check> unchecked(const ReportModel& m);
// Repair/replicate runs: writing verifies nothing the cutover can rely on.
Check verification(const ReportModel& m);

// Whether `write` (a repair or replicate run) wrote to the target of
// `compare`: by recorded server identity, else by the endpoint text.
bool writes_same_target(const RunRecord& compare, const RunRecord& write);
// A repair/replicate run that wrote nothing (--dry-run).
bool is_dry_run(const RunRecord& run);

}  // namespace migcheck

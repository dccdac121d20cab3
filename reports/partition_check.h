// The "Partitions" readiness check: a run of one partition (--partition K/N)
// covers only its slots, so it is INCOMPLETE on its own; a run joined by
// `migcheck merge` is NOT READY while a partition is missing, given twice or
// failed, each named. Pure function of the model.
#pragma once

#include <optional>

#include "report_model.h"

namespace migcheck {

// nullopt for a run that was neither partitioned nor merged.
std::optional<Check> partitions_check(const ReportModel& m);

}  // namespace migcheck

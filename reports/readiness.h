// The cutover-readiness rules: which checks a report runs over its model,
// and how their statuses make the verdict. Pure functions of the model.
#pragma once

#include <string>
#include <vector>

#include "report_model.h"

namespace migcheck {

// Every check for the model's run, in display order. Reads all of the model
// except checks/ready/reasons. A check that cannot be evaluated is a warning
// that says so, never a pass.
std::vector<Check> readiness_checks(const ReportModel& m);

struct Verdict {
  bool ready = false;  // no check failed
  // kVerdictReady; kVerdictNotReady when a check found a problem;
  // kVerdictIncomplete when every failure is one of coverage (Check::incomplete).
  std::string kind;
  std::vector<std::string> reasons;  // "Name: detail" of failures, then warnings
};
Verdict verdict(const std::vector<Check>& checks);

// Keyspace notification classes live replication needs (besides K or E).
inline constexpr std::string_view kNeededNotifyClasses = "g$lshzxet";

// Headroom the target needs: maxmemory >= this factor x source used_memory.
inline constexpr double kMemoryHeadroomFactor = 1.2;

}  // namespace migcheck

// `migcheck merge`: joins the stores of the N partitions of one job
// (--partition K/N) into one run of an output store, which `report`,
// `diffs` and `repair` read like any run. From each input it takes the
// latest partitioned run; inputs of another job (command, partition count,
// job id, endpoints, servers or options) are refused. Rows are streamed
// page by page (bounded memory): the difference rows of every round, the
// outcomes, the round records summed by round number, the totals summed
// (totals_merge.h). The merged run's options record every partition's store
// and run, and the partitions missing, given twice (the first one kept) or
// not finished, which the report's "Partitions" check names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store.h"

namespace migcheck {

struct MergeResult {
  int64_t run_id = 0;
  std::string command;  // of the merged runs
  int count = 0;        // N
  std::vector<int> missing, duplicated, failed;
  int64_t differences = 0;  // rows of the merged run's last round
  int exit_code = 0;        // the merged run's: 0, 1, or 2 when a partition failed
};

// Throws UsageError: no input, an input without a partitioned run, inputs
// of different jobs, the output among the inputs.
MergeResult merge_partitions(const std::vector<std::string>& inputs, Store& out);

}  // namespace migcheck

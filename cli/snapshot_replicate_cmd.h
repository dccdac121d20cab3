// `migcheck replicate dump.rdb TARGET`: the command line of the snapshot
// replicate engine (snapshot_replicate.h), reached from the replicate
// command when its source is a snapshot file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli.h"
#include "flag_groups.h"
#include "replicate.h"
#include "run_output.h"

namespace migcheck {

struct SnapshotReplicateCli {
  const CommonOptions& common;
  const RunOutputOptions& output;
  const ReplicateOptions& options;  // as parsed
  const DbSelection& dbs;
  int64_t resume;
  const std::vector<std::string>& given;  // the flags the command line gave
};

int run_snapshot_replicate_cmd(const SnapshotReplicateCli& c);

}  // namespace migcheck

// `migcheck compare dump.rdb TARGET` and `compare a.rdb b.rdb`: the command
// line of the snapshot compare engine (snapshot_compare.h), reached from the
// compare command when its source is a snapshot file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli.h"
#include "run_output.h"

namespace migcheck {

// The compare command's options, as given.
struct SnapshotCompareCli {
  const CommonOptions& common;
  const RunOutputOptions& output;
  int rounds;
  std::string interval, ttl_tolerance, match;
  std::vector<std::string> types;
  int db, target_db;
  std::string db_map;
  size_t scan_count, batch, connections;
  double max_ops;
  uint64_t sample;
  bool no_target_scan;
  size_t chunk;
  std::string big_string;
  int64_t resume;
};

// The source of the command line is a snapshot file (uri.h's snapshot_path).
bool is_snapshot_compare(const CommonOptions& common);
int run_snapshot_compare_cmd(const SnapshotCompareCli& c);

}  // namespace migcheck

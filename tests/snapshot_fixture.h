// The set-up the snapshot tests (snapshot_compare_test, snapshot_replicate_test)
// share: temp paths, the wall clock, a file written by a real server (SAVE,
// copied out of its dir), a truncated copy of a file, the big set of the
// memory tests and the run that checks migcheck's peak memory. One copy here
// instead of one per snapshot test file.
#pragma once

#include <unistd.h>
#include <catch2/catch_test_macros.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "dataset_parts.h"
#include "server_fixture.h"
#include "snapshot_compare.h"
#include "store.h"
#include "test_util.h"
#include "uri.h"

namespace migcheck::test {

// <tmp>/migcheck-<prefix>-<name>-<pid>, with any leftover of an earlier run
// (a store and its -wal and -shm files) removed.
inline std::string snapshot_tmp(const std::string& prefix, const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("migcheck-" + prefix + "-" + name + "-" + std::to_string(::getpid()));
  remove_store(p.string());
  return p.string();
}

// Wall clock in ms since the epoch: the unit of PXAT, PEXPIREAT, PEXPIRETIME.
inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SAVEs `s` and copies its dump to `path` (a later SAVE would overwrite the
// one in its dir); returns `path`.
inline std::string save_snapshot(TestServer& s, const std::string& path) {
  s.cmd({"SAVE"});
  std::filesystem::copy_file(s.dir() + "/dump.rdb", path,
                             std::filesystem::copy_options::overwrite_existing);
  return path;
}

// The first keys of the snapshot tests' datasets: strings (one expiring at
// `at`, a PXAT in ms), a list, a hash and a set.
inline Cmds snapshot_basics(const std::string& at) {
  return {{"SET", "s:1", "one"},
          {"SET", "s:int", "12345"},
          {"SET", "s:ttl", "v", "PXAT", at},
          {"RPUSH", "l:1", "a", "b", "c"},
          {"HSET", "h:1", "f1", "v1", "f2", "v2"},
          {"SADD", "st:1", "m1", "m2", "3"}};
}

// Writes the first half of `file` to `cut`: a file that ends mid-record.
inline void write_first_half(const std::string& file, const std::string& cut) {
  const std::string bytes = slurp(file);
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
}

// SADD commands making "huge" a set of 400k members (about 10 MB
// serialised, more in memory): bigger than any chunk.
inline Cmds huge_set() {
  Cmds cmds;
  for (int b = 0; b < 400; ++b) {
    std::vector<std::string> cmd = {"SADD", "huge"};
    for (int i = 0; i < 1000; ++i)
      cmd.push_back("member-" + std::to_string(b) + "-" + std::to_string(i) + "-padding-padding");
    cmds.push_back(std::move(cmd));
  }
  return cmds;
}

// Runs migcheck with `args` (stdout and stderr to `out` and `err`): it exits
// 0 and its peak resident memory stays under 64 MiB.
inline void check_bounded_peak(std::vector<std::string> args, const std::string& out,
                               const std::string& err) {
  Spawned p(std::move(args), out, err);
  CHECK(p.wait() == 0);
  INFO("VmHWM " << p.max_rss_kb() << " kB");
  CHECK(p.max_rss_kb() > 0);
  CHECK(p.max_rss_kb() < 64 * 1024);
}

// A snapshot compare of `file` against `target` as the snapshot compare
// tests run it: one round, two connections, small batches and chunks.
inline SnapshotCompareOptions snap_options(const std::string& file, TestServer& target) {
  SnapshotCompareOptions o;
  o.source_file = file;
  o.base.target = parse_uri(target.uri());
  o.base.rounds = 1;
  o.base.interval = Millis(50);
  o.base.connections = 2;
  o.base.batch = 64;
  o.base.chunk = 1000;
  o.base.big_string = 100000;
  o.base.progress = false;
  return o;
}

// A run's difference rows (of one round, or all) as (db, key, kind).
using Rows = std::set<std::tuple<int, std::string, std::string>>;
inline Rows rows(Store& store, int64_t run, std::optional<int> round = std::nullopt) {
  Rows out;
  DifferenceFilter f;
  f.round = round;
  store.for_each_difference(run, f, [&](const Difference& d) { out.emplace(d.db, d.key, d.kind); });
  return out;
}

inline nlohmann::json totals(Store& store, int64_t run) {
  return nlohmann::json::parse(store.run(run)->totals_json);
}

}  // namespace migcheck::test

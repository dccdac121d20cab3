// Joining partition stores into one run: see partition_merge.h.
#include "partition_merge.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "errors.h"
#include "identity.h"
#include "log.h"
#include "partition.h"
#include "totals_merge.h"

namespace migcheck {
namespace {

using json = nlohmann::json;

// One input: its latest partitioned run.
struct Input {
  std::string path;
  RunRecord run;
  Partition partition;
  json options;
};

json parse(const std::string& text) {
  json j = json::parse(text.empty() ? "{}" : text, nullptr, false);
  return j.is_object() ? j : json::object();
}

// Options that may differ between the partitions of one job: speed and
// load, where each store is, the compare run each repair read, and the
// partition itself.
const std::set<std::string> kPerProcess = {
    "partition",   "store",   "batch", "connections", "scan_count",          "max_ops_per_sec",
    "compare_run", "idle_ms", "queue", "round",       "assume_notifications"};

json job_options(const json& options) {
  json j = json::object();
  for (const auto& [k, v] : options.items())
    if (!kPerProcess.count(k)) j[k] = v;
  return j;
}

std::optional<ServerIdentity> identity_of(const std::string& info_json) {
  const json j = parse(info_json);
  if (!j.contains("identity") || !j["identity"].is_object()) return std::nullopt;
  ServerIdentity id = identity_from_json(j["identity"]);
  if (id.empty()) return std::nullopt;
  return id;
}

Input read_input(const std::string& path) {
  Store store(path, false, true);
  const auto runs = store.runs();
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    json options = parse(it->options_json);
    if (!options.contains("partition")) continue;
    auto p = partition_from_json(options["partition"]);
    if (!p)
      throw UsageError(path + ": run " + std::to_string(it->id) + " has a malformed partition");
    return {path, *it, *p, std::move(options)};
  }
  throw UsageError(path +
                   " holds no partitioned run (run compare, repair or replicate with "
                   "--partition K/N)");
}

// The inputs must be partitions of one job: the same command over the same
// servers with the same options.
void refuse_other_jobs(const std::vector<Input>& in) {
  const Input& a = in.front();
  for (const Input& b : in) {
    auto refuse = [&](const std::string& what) {
      throw UsageError("cannot merge " + b.path + " with " + a.path + ": " + what +
                       " (the stores are not partitions of one job)");
    };
    if (b.run.command != a.run.command)
      refuse("a " + b.run.command + " run and a " + a.run.command + " run");
    if (b.partition.count != a.partition.count)
      refuse("partition counts " + std::to_string(b.partition.count) + " and " +
             std::to_string(a.partition.count));
    if (b.partition.job != a.partition.job)
      refuse("job ids '" + b.partition.job + "' and '" + a.partition.job + "'");
    if (b.run.source != a.run.source) refuse("sources " + b.run.source + " and " + a.run.source);
    if (b.run.target != a.run.target) refuse("targets " + b.run.target + " and " + a.run.target);
    for (bool source : {true, false}) {
      auto x = identity_of(source ? a.run.source_info_json : a.run.target_info_json);
      auto y = identity_of(source ? b.run.source_info_json : b.run.target_info_json);
      if (x && y && same_server(*x, *y) == Sameness::kDifferent)
        refuse(std::string("another ") + (source ? "source" : "target") +
               " server (another INFO run_id: restarted, or not the same server)");
    }
    const json ja = job_options(a.options), jb = job_options(b.options);
    if (ja != jb) {
      std::string key;
      for (const auto& [k, v] : ja.items())
        if (!jb.contains(k) || jb[k] != v) key = k;
      for (const auto& [k, v] : jb.items())
        if (!ja.contains(k)) key = k;
      refuse("different options (" + key + ")");
    }
  }
}

bool finished(const RunRecord& r) {
  return r.status == "done" && (r.exit_code == 0 || r.exit_code == 1);
}

constexpr size_t kPage = 1000;

// Copies the run's rows (differences of every round, outcomes) into `run`
// of `out`, a page at a time.
void copy_rows(const Input& in, Store& out, int64_t run) {
  Store store(in.path, false, true);
  std::vector<Difference> diffs;
  auto flush_diffs = [&] {
    out.add_differences(run, diffs);
    diffs.clear();
  };
  const int last = store.last_round(in.run.id);
  for (int round = 1; round <= last; ++round) {
    DifferenceFilter f;
    f.round = round;
    store.for_each_difference(in.run.id, f, [&](const Difference& d) {
      diffs.push_back(d);
      if (diffs.size() >= kPage) flush_diffs();
    });
  }
  flush_diffs();
  std::vector<Outcome> outcomes;
  store.for_each_outcome(in.run.id, [&](const Outcome& o) {
    outcomes.push_back(o);
    if (outcomes.size() >= kPage) {
      out.add_outcomes(run, outcomes);
      outcomes.clear();
    }
  });
  out.add_outcomes(run, outcomes);
}

}  // namespace

MergeResult merge_partitions(const std::vector<std::string>& inputs, Store& out) {
  if (inputs.empty()) throw UsageError("merge: name the partition stores to join");
  std::error_code ec;
  for (const auto& p : inputs)
    if (std::filesystem::equivalent(p, out.path(), ec))
      throw UsageError("merge: the output store " + out.path() + " is also an input");
  std::vector<Input> in;
  for (const auto& p : inputs) in.push_back(read_input(p));
  refuse_other_jobs(in);

  MergeResult res;
  res.command = in.front().run.command;
  res.count = in.front().partition.count;
  // Each partition once, the first given; the others are named, not merged.
  std::map<int, const Input*> used;
  std::set<int> twice;
  for (const Input& i : in) {
    if (used.count(i.partition.index))
      twice.insert(i.partition.index);
    else
      used[i.partition.index] = &i;
  }
  res.duplicated.assign(twice.begin(), twice.end());
  for (int k = 1; k <= res.count; ++k)
    if (!used.count(k)) res.missing.push_back(k);
  for (const auto& [k, i] : used)
    if (!finished(i->run)) res.failed.push_back(k);

  json parts = json::array();
  for (const Input& i : in)
    parts.push_back({{"index", i.partition.index},
                     {"first_slot", i.partition.first_slot()},
                     {"last_slot", i.partition.end_slot() - 1},
                     {"store", i.path},
                     {"run", i.run.id},
                     {"status", i.run.status},
                     {"exit_code", i.run.exit_code}});
  json merged = {{"count", res.count},
                 {"partitions", parts},
                 {"missing", res.missing},
                 {"duplicated", res.duplicated},
                 {"failed", res.failed}};
  if (!in.front().partition.job.empty()) merged["job"] = in.front().partition.job;
  json options = in.front().options;
  for (const auto& k : {"partition", "store", "compare_run"}) options.erase(k);
  options["merged"] = merged;

  RunRecord rec;
  rec.command = res.command;
  rec.source = in.front().run.source;
  rec.target = in.front().run.target;
  rec.options_json = options.dump();
  res.run_id = out.begin_run(rec);
  // The servers' facts (key counts, memory...): every partition gathered
  // them from the same servers, at its start; the latest are the closest to
  // the state the merged run describes (partitions run one after another
  // see each other's repairs).
  const Input* latest = &in.front();
  for (const auto& [k, i] : used)
    if (i->run.started_ms > latest->run.started_ms) latest = i;
  out.set_server_info(res.run_id, latest->run.source_info_json, latest->run.target_info_json);

  std::map<int, RoundRecord> rounds;
  std::vector<json> totals;
  int worst = 0;
  for (const auto& [k, i] : used) {
    Store store(i->path, false, true);
    for (const RoundRecord& r : store.rounds(i->run.id)) {
      RoundRecord& m = rounds[r.round];
      if (m.round == 0) {
        m = r;
        continue;
      }
      m.keys_checked += r.keys_checked;
      m.differences += r.differences;
      m.started_ms = std::min(m.started_ms, r.started_ms);
      m.finished_ms = std::max(m.finished_ms, r.finished_ms);
    }
    totals.push_back(parse(i->run.totals_json));
    worst = std::max(worst, finished(i->run) ? i->run.exit_code : 2);
    copy_rows(*i, out, res.run_id);
  }
  for (auto& [n, r] : rounds) {
    r.run = res.run_id;
    out.put_round(r);
  }
  json total = merge_totals(totals);
  total["partitions"] = merged;
  out.set_totals(res.run_id, total.dump());
  res.exit_code = worst;
  if (!rounds.empty()) {
    DifferenceFilter f;
    f.round = rounds.rbegin()->first;
    res.differences = out.count_differences(res.run_id, f);
  }
  out.finish_run(res.run_id, "done", res.exit_code);
  return res;
}

}  // namespace migcheck

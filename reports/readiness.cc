// The readiness checks and the verdict. Each check states what it looked at,
// so a reviewer can tell a pass from "could not be evaluated" (a warning).
#include "readiness.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "coverage.h"
#include "duration.h"
#include "html_escape.h"
#include "partition_check.h"

namespace migcheck {
namespace {

using enum CheckStatus;

std::string bytes_text(int64_t n) {
  return format_bytes(static_cast<uint64_t>(std::max<int64_t>(0, n)));
}

std::string not_recorded(const ReportModel& m, bool source, bool target) {
  std::string sides = source && target ? "source and target" : source ? "source" : "target";
  std::string why;
  const ServerSide& s = source ? m.source : m.target;
  if (!s.unavailable_reason.empty()) why = " (" + s.unavailable_reason + ")";
  return "not evaluated: the run recorded no server facts for the " + sides + why;
}

bool writes_target(const ReportModel& m) {
  return m.run.command == "repair" || m.run.command == "replicate";
}

Check run_completed(const ReportModel& m) {
  constexpr std::string_view id = "run_completed", name = "Run completed";
  const RunRecord& r = m.run;
  if (r.status == "done" && r.exit_code == 0)
    return make_check(id, name, kPass, "finished (exit code 0)");
  if (r.status == "done" && r.exit_code == 1) {
    // Complete, with a result that is no: the checks below say what differs.
    if (r.command == "compare")
      return make_check(id, name, kPass,
                        "finished (exit code 1: differences remained after its last round)");
    if (is_dry_run(r))
      return make_check(id, name, kPass,
                        "finished (exit code 1: a dry run planned writes, made none)");
    return make_check(id, name, kWarn,
                      "finished (exit code 1: not every key was " +
                          std::string(r.command == "repair" ? "repaired" : "copied") + ")");
  }
  if (r.status == "done")
    return make_check(id, name, kFail,
                      "finished with exit code " + std::to_string(r.exit_code) +
                          " (an error stopped it); its results are partial",
                      true);
  if (r.status == "running")
    return make_check(
        id, name, kFail,
        "the run has not finished (or died without recording an end); its results are partial",
        true);
  if (r.status == "interrupted")
    return make_check(id, name, kFail,
                      "the run was interrupted; resume it (`migcheck " + r.command + " --resume " +
                          std::to_string(r.id) + " SOURCE TARGET`) or rerun it before cutover",
                      true);
  if (r.status == "failed")
    return make_check(
        id, name, kFail,
        "the run failed (exit code " + std::to_string(r.exit_code) + "); its results are partial",
        true);
  return make_check(id, name, kFail, "unknown run status \"" + printable_bytes(r.status) + "\"",
                    true);
}

std::string kinds_text(const std::vector<NamedCount>& by_kind) {
  std::string out;
  for (const auto& k : by_kind)
    out += (out.empty() ? "" : ", ") + std::to_string(k.count) + " " + printable_bytes(k.name);
  return out;
}

Check no_differences(const ReportModel& m) {
  constexpr std::string_view id = "differences", name = "No differences";
  const DifferenceSummary& d = m.differences;
  if (!m.rounds.empty()) {
    const RoundRecord& last = m.rounds.back();
    int64_t remaining = std::max(last.differences, d.total);
    std::string where = "round " + std::to_string(last.round) + " (" +
                        std::to_string(last.keys_checked) + " keys checked)";
    if (remaining == 0) {
      // A sample finding nothing is no proof that nothing differs.
      if (m.totals.is_object() && m.totals.value("sampled", false))
        return make_check(
            id, name, kWarn,
            "0 differences after " + where +
                ", but the compare checked a sample of the keys; run a full compare before "
                "cutover");
      return make_check(id, name, kPass, "0 differences after " + where);
    }
    std::string kinds = kinds_text(d.by_kind);
    return make_check(id, name, kFail,
                      std::to_string(remaining) +
                          (remaining == 1 ? " difference remains" : " differences remain") +
                          " after " + where + (kinds.empty() ? "" : ": " + kinds));
  }
  if (d.total > 0)
    return make_check(id, name, kFail,
                      std::to_string(d.total) + " differences recorded in round " +
                          std::to_string(d.round) + ": " + kinds_text(d.by_kind));
  if (writes_target(m))
    return make_check(
        id, name, kWarn,
        "not evaluated: the " + m.run.command +
            " run has no verification round; run `migcheck compare` to confirm zero differences");
  return make_check(id, name, kWarn,
                    "not evaluated: the run recorded no round, so nothing was checked");
}

Check outcomes(const ReportModel& m) {
  const OutcomeSummary& o = *m.outcomes;
  std::string name = m.run.command == "replicate" ? "Replicate outcomes" : "Repair outcomes";
  std::string counts;
  for (const auto& c : o.by_outcome)
    counts +=
        (counts.empty() ? "" : ", ") + std::to_string(c.count) + " " + printable_bytes(c.name);
  if (o.failed > 0)
    return make_check("outcomes", name, kFail,
                      std::to_string(o.failed) + " of " + std::to_string(o.total) +
                          " keys failed (" + counts + ")");
  // Skipped (filtered, extras kept) and planned (dry run) keys were left as
  // they were: not an error, but not migrated either.
  int64_t untouched = 0;
  for (const auto& c : o.by_outcome)
    if (c.name == "skipped" || c.name == "planned") untouched += c.count;
  if (untouched > 0)
    return make_check("outcomes", name, kWarn,
                      std::to_string(untouched) + " of " + std::to_string(o.total) +
                          " keys were left unchanged (" + counts + ")");
  return make_check("outcomes", name, kPass, std::to_string(o.total) + " keys: " + counts);
}

Check key_counts(const ReportModel& m) {
  constexpr std::string_view id = "key_counts", name = "Key counts per db";
  if (!m.source.available || !m.target.available)
    return make_check(id, name, kWarn, not_recorded(m, !m.source.available, !m.target.available));
  const auto& src = m.source.facts.keys_per_db;
  const auto& tgt = m.target.facts.keys_per_db;
  std::map<int, int64_t> expected;  // target db -> keys the source has for it
  std::map<int, std::set<int>> sources_of;
  std::set<int> src_done;
  for (auto [s, t] : compared_databases(m)) {
    auto it = src.find(s);
    expected[t] += it == src.end() ? 0 : it->second;
    sources_of[t].insert(s);
    src_done.insert(s);
  }

  std::string mismatches, matches, others;
  auto add = [](std::string& list, const std::string& line) {
    list += (list.empty() ? "" : "; ") + line;
  };
  for (auto [tdb, want] : expected) {
    auto it = tgt.find(tdb);
    int64_t have = it == tgt.end() ? 0 : it->second;
    std::string label;
    for (int s : sources_of[tdb]) label += (label.empty() ? "db" : "+db") + std::to_string(s);
    if (label != "db" + std::to_string(tdb)) label += "->db" + std::to_string(tdb);
    add(want == have ? matches : mismatches,
        label + ": source " + std::to_string(want) + ", target " + std::to_string(have));
  }
  // Every other db of either side, listed for the reader; whether leaving
  // them out matters is the "Every database compared" check's call.
  std::set<int> rest;
  for (auto [db, keys] : src)
    if (!src_done.count(db)) rest.insert(db);
  for (auto [db, keys] : tgt)
    if (!expected.count(db)) rest.insert(db);
  for (int db : rest) {
    auto s = src.find(db), t = tgt.find(db);
    const int64_t sk = s == src.end() ? 0 : s->second, tk = t == tgt.end() ? 0 : t->second;
    const std::string n = std::to_string(db);
    if (src_done.count(db))  // the source's db went elsewhere; the target's was not compared
      add(others, "target db" + n + ": " + std::to_string(tk) + " keys (not compared)");
    else if (expected.count(db))  // the target's db was compared with another source db
      add(others, "source db" + n + ": " + std::to_string(sk) + " keys (not compared)");
    else
      add(others, "db" + n + ": source " + std::to_string(sk) + ", target " + std::to_string(tk) +
                      " (not compared)");
  }
  if (!m.source.facts.keyspace_known || !m.target.facts.keyspace_known)
    add(others, std::string("the ") + (!m.source.facts.keyspace_known ? "source" : "target") +
                    "'s other databases are unknown (INFO refused)");
  std::string tail = others.empty() ? "" : "; " + others;
  if (mismatches.empty())
    return make_check(id, name, kPass,
                      (matches.empty() ? "both sides have no keys" : matches) + tail);
  if (writes_target(m))
    return make_check(
        id, name, kWarn,
        mismatches + " (counted when the " + m.run.command +
            " run started, before it wrote to the target; run `migcheck compare` to recount)" +
            tail);
  return make_check(id, name, kFail, mismatches + tail);
}

Check memory_headroom(const ReportModel& m) {
  constexpr std::string_view id = "memory_headroom", name = "Memory headroom";
  if (!m.target.available) return make_check(id, name, kWarn, not_recorded(m, false, true));
  const ServerFacts& t = m.target.facts;
  if (t.maxmemory < 0)
    return make_check(id, name, kWarn, "not evaluated: the target's maxmemory is unknown");
  if (t.maxmemory == 0)
    return make_check(id, name, kPass,
                      "target maxmemory is 0 (unlimited; bounded by the host's RAM)");
  if (!m.source.available || m.source.facts.used_memory < 0)
    return make_check(id, name, kWarn, "not evaluated: the source's used_memory is unknown");
  // maxmemory is per node: a cluster target holds it once per primary.
  int64_t primaries = 1;
  if (t.mode == "cluster") {
    primaries = std::count_if(t.nodes.begin(), t.nodes.end(),
                              [](const NodeFacts& n) { return n.role == "primary"; });
    primaries = std::max<int64_t>(1, primaries);
  }
  double capacity = static_cast<double>(t.maxmemory) * static_cast<double>(primaries);
  double need = kMemoryHeadroomFactor * static_cast<double>(m.source.facts.used_memory);
  std::string cap_text = "target maxmemory " + bytes_text(t.maxmemory) +
                         (primaries > 1 ? " x " + std::to_string(primaries) + " primaries" : "");
  std::string need_text = "1.2 x source used_memory " + bytes_text(m.source.facts.used_memory) +
                          " = " + bytes_text(static_cast<int64_t>(need));
  if (capacity >= need) return make_check(id, name, kPass, cap_text + " >= " + need_text);
  return make_check(id, name, kFail,
                    cap_text + " < " + need_text + ": the target may run out of memory");
}

Check eviction_policy(const ReportModel& m) {
  constexpr std::string_view id = "eviction_policy", name = "Target eviction policy";
  if (!m.target.available) return make_check(id, name, kWarn, not_recorded(m, false, true));
  const std::string& p = m.target.facts.maxmemory_policy;
  if (p.empty())
    return make_check(id, name, kWarn, "not evaluated: the target's maxmemory-policy is unknown");
  if (p == "noeviction")
    return make_check(id, name, kPass,
                      "noeviction: the target refuses writes rather than drop keys");
  return make_check(
      id, name, kWarn,
      printable_bytes(p) +
          ": the target may evict migrated keys under memory pressure; noeviction is safer "
          "for a migration target");
}

Check dump_compatibility(const ReportModel& m) {
  constexpr std::string_view id = "dump_compatibility", name = "DUMP payload compatibility";
  if (!m.source.available || !m.target.available)
    return make_check(id, name, kWarn, not_recorded(m, !m.source.available, !m.target.available));
  const auto& s = m.source.facts;
  const auto& t = m.target.facts;
  auto why = [](const ServerFacts& f) {
    return f.rdb_version_note.empty() ? std::string("unknown")
                                      : printable_bytes(f.rdb_version_note);
  };
  // No key to DUMP on one side: the release's RDB version (Redis 7.4/8.x = 12,
  // Valkey 7.2-8.x = 11, Valkey 9 = 80) stands in for it.
  const auto s_rdb = s.rdb_version ? s.rdb_version : known_rdb_version(s.engine, s.version);
  const auto t_rdb = t.rdb_version ? t.rdb_version : known_rdb_version(t.engine, t.version);
  if (!s_rdb || !t_rdb) {
    std::string detail = "could not be evaluated:";
    if (!s.rdb_version) detail += " source RDB version " + why(s) + ";";
    if (!t.rdb_version) detail += " target RDB version " + why(t) + ";";
    detail.pop_back();
    return make_check(id, name, kWarn, detail);
  }
  std::string versions = "source RDB version " + std::to_string(*s_rdb) +
                         (s.rdb_version ? "" : " (from its release)") + ", target " +
                         std::to_string(*t_rdb) + (t.rdb_version ? "" : " (from its release)");
  if (restore_accepts(*s_rdb, t.engine, *t_rdb))
    return make_check(id, name, kPass,
                      versions + ": the target's RESTORE accepts the source's DUMP payloads");
  return make_check(id, name, kWarn,
                    versions + ": repair/replicate will use the type-specific fallback");
}

Check keyspace_notifications(const ReportModel& m) {
  constexpr std::string_view id = "keyspace_notifications",
                             name = "Keyspace notifications (live replication)";
  if (!m.source.available) return make_check(id, name, kWarn, not_recorded(m, true, false));
  const ServerFacts& s = m.source.facts;
  const std::string& v = s.notify_keyspace_events;
  if (!s.config_allowed || v.starts_with("unknown"))
    return make_check(
        id, name, kWarn,
        "could not be evaluated: CONFIG GET notify-keyspace-events was refused on the source");
  bool channel = v.find_first_of("KE") != std::string::npos;
  std::string missing;
  if (v.find('A') == std::string::npos)
    for (char c : kNeededNotifyClasses)
      if (v.find(c) == std::string::npos) missing += c;
  std::string shown = "notify-keyspace-events=\"" + printable_bytes(v) + "\"";
  if (channel && missing.empty())
    return make_check(id, name, kPass, shown + " covers what live replication needs");
  std::string detail = shown + (v.empty() ? " (off)" : "") +
                       ": live replication needs K or E plus " + std::string(kNeededNotifyClasses) +
                       " (or A)";
  if (!channel) detail += "; no K/E channel";
  if (!missing.empty()) detail += "; missing classes " + missing;
  return make_check(id, name, kWarn, detail);
}

// TLS of one side: from its facts, else from the endpoint's scheme.
std::optional<bool> side_tls(const ServerSide& s) {
  if (s.available) return s.facts.tls;
  if (s.endpoint.starts_with("rediss://")) return true;
  if (s.endpoint.starts_with("redis://")) return false;
  return std::nullopt;
}

Check tls(const ReportModel& m) {
  constexpr std::string_view id = "tls", name = "TLS in transit";
  auto describe = [](std::string_view side, const ServerSide& s, std::optional<bool> on) {
    if (s.endpoint.starts_with("unix://")) return std::string(side) + " is a local unix socket";
    if (!on) return std::string(side) + " unknown";
    return std::string(side) + (*on ? " uses TLS" : " does not use TLS");
  };
  auto src = side_tls(m.source), tgt = side_tls(m.target);
  bool src_local = m.source.endpoint.starts_with("unix://"),
       tgt_local = m.target.endpoint.starts_with("unix://");
  std::string detail = describe("source", m.source, src) + ", " + describe("target", m.target, tgt);
  if ((!src && !src_local) || (!tgt && !tgt_local))
    return make_check(id, name, kWarn, "not fully evaluated: " + detail);
  bool ok = (src_local || *src) && (tgt_local || *tgt);
  if (ok) return make_check(id, name, kPass, detail);
  return make_check(id, name, kWarn, detail + ": data crosses the network in clear text");
}

Check big_keys(const ReportModel& m) {
  constexpr std::string_view id = "big_keys", name = "Big keys";
  const BigKeys& b = m.big_keys;
  if (!b.evaluated)
    return make_check(id, name, kWarn, "not evaluated: the run recorded no big-key scan");
  if (b.count == 0) return make_check(id, name, kPass, "no big keys found");
  std::string detail =
      std::to_string(b.count) + " big key" + (b.count == 1 ? "" : "s") +
      ": each DUMP/RESTORE blocks the server longer and needs memory headroom; plan for them";
  size_t shown = std::min<size_t>(3, b.keys.size());
  for (size_t i = 0; i < shown; ++i)
    detail += (i ? ", " : " (e.g. ") + printable_bytes(b.keys[i].key) + (i + 1 == shown ? ")" : "");
  return make_check(id, name, kWarn, detail);
}

// Runs that record it (totals.starts_over): a server that restarted under
// the run voided what was done before, and the run started over; its
// results hold, but a restart in the migration window deserves a look.
std::optional<Check> server_restarts(const ReportModel& m) {
  constexpr std::string_view id = "server_restarts", name = "Server restarts";
  if (!m.totals.is_object() || !m.totals.contains("starts_over") ||
      !m.totals["starts_over"].is_number_integer())
    return std::nullopt;
  const int64_t n = m.totals["starts_over"].get<int64_t>();
  if (n == 0) return make_check(id, name, kPass, "no server restart noticed during the run");
  return make_check(
      id, name, kWarn,
      "a server restarted (or failed over) during the run, which started over " +
          std::to_string(n) + (n == 1 ? " time" : " times") +
          ": its results are from after the last restart; make sure the restart lost no "
          "writes the application still needs");
}

// Runs that record it (totals.waited_out): transient server states the run
// waited out (LOADING, BUSY, a failover...). They did not change the result;
// listed so the SRE knows what happened in the window.
std::optional<Check> waited_out(const ReportModel& m) {
  constexpr std::string_view id = "waited_out", name = "Transient states waited out";
  if (!m.totals.is_object() || !m.totals.contains("waited_out") ||
      !m.totals["waited_out"].is_object())
    return std::nullopt;
  const auto& w = m.totals["waited_out"];
  if (w.empty()) return make_check(id, name, kPass, "no transient server state met");
  std::string detail;
  for (const auto& [state, n] : w.items())
    detail += (detail.empty() ? "" : ", ") + state + " x" + n.dump();
  return make_check(id, name, kPass, "waited out, result unaffected: " + detail);
}

}  // namespace

std::vector<Check> readiness_checks(const ReportModel& m) {
  std::vector<Check> out;
  out.push_back(run_completed(m));
  if (auto c = partitions_check(m)) out.push_back(*c);
  if (writes_target(m)) out.push_back(verification(m));
  if (auto c = server_restarts(m)) out.push_back(*c);
  if (auto c = waited_out(m)) out.push_back(*c);
  if (m.run.command == "compare") {
    out.push_back(keyspace_scope(m));
    out.push_back(database_coverage(m));
  }
  out.push_back(no_differences(m));
  if (m.run.command == "compare") out.push_back(written_after(m));
  if (m.outcomes) out.push_back(outcomes(m));
  out.push_back(distinct_servers(m));
  if (auto c = unchecked(m)) out.push_back(*c);
  out.push_back(key_counts(m));
  out.push_back(memory_headroom(m));
  out.push_back(eviction_policy(m));
  out.push_back(dump_compatibility(m));
  out.push_back(keyspace_notifications(m));
  out.push_back(tls(m));
  out.push_back(big_keys(m));
  return out;
}

Verdict verdict(const std::vector<Check>& checks) {
  Verdict v;
  v.ready =
      std::none_of(checks.begin(), checks.end(), [](const Check& c) { return c.status == kFail; });
  // A real problem outranks a run too partial to judge.
  const bool problem = std::any_of(checks.begin(), checks.end(), [](const Check& c) {
    return c.status == kFail && !c.incomplete;
  });
  v.kind = std::string(v.ready ? kVerdictReady : problem ? kVerdictNotReady : kVerdictIncomplete);
  for (CheckStatus wanted : {kFail, kWarn})
    for (const Check& c : checks)
      if (c.status == wanted) v.reasons.push_back(c.name + ": " + c.detail);
  return v;
}

}  // namespace migcheck

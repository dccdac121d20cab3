// `migcheck diffs`: lists the differences of a compare run from the store, as
// a terminal-safe table or as JSON lines (binary keys in key_base64); for a
// repair or replicate run, says so and lists its per-key outcomes (a dry
// run's planned actions) instead.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "commands.h"
#include "encoding.h"
#include "errors.h"
#include "flag_groups.h"
#include "json_fields.h"
#include "log.h"
#include "printable.h"
#include "store.h"
#include "value_diff.h"

namespace migcheck {
namespace {

struct DiffsCli {
  CommonOptions common;
  int64_t run = 0;
  int round = 0;
  std::vector<std::string> kinds;
  std::string format = "table";
};

std::string side_text(const std::string& type, int64_t ttl) {
  if (type == "none" || ttl == -2) return "absent";
  if (ttl == -1) return type + ", no ttl";
  return type + ", ttl " + std::to_string(ttl) + "ms";
}

// A repair or replicate run has no differences of its own: say what it is
// and list what it did (or, in a dry run, planned) per key.
int list_outcomes(Store& store, const RunRecord& rec, const std::string& format) {
  nlohmann::json opts = nlohmann::json::parse(rec.options_json, nullptr, false);
  const bool dry = opts.is_object() && opts.value("dry_run", false);
  std::string what = "run " + std::to_string(rec.id) + " is a " + rec.command + " run" +
                     (dry ? " (DRY RUN: nothing was written)" : "") +
                     (rec.parent ? " of compare run " + std::to_string(*rec.parent) : "") +
                     ", not a compare: it has no differences of its own";
  int64_t n = 0;
  std::string line;
  store.for_each_outcome(rec.id, [&](const Outcome& o) {
    if (format == "jsonl") {
      nlohmann::json j = {{"run", rec.id},
                          {"db", o.db},
                          {"action", to_string(o.action)},
                          {"outcome", to_string(o.outcome)},
                          {"dry_run", dry}};
      put_binary_key(j, o.key);
      if (!o.error.empty()) j["error"] = o.error;
      if (!o.detail.empty()) j["detail"] = o.detail;
      line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    } else {
      if (n == 0)
        std::printf("%s; its per-key %s:\n%-9s  %-9s  %s\n", what.c_str(),
                    dry ? "planned actions" : "outcomes", "OUTCOME", "ACTION", "KEY");
      line = to_string(o.outcome);
      line.resize(std::max<size_t>(line.size(), 9), ' ');
      std::string action(to_string(o.action));
      action.resize(std::max<size_t>(action.size(), 9), ' ');
      line = printable_bytes(line) + "  " + printable_bytes(action) + "  " + printable_bytes(o.key);
      std::string why =
          o.error.empty() ? o.detail : o.error + (o.detail.empty() ? "" : " - " + o.detail);
      if (!why.empty()) line += "\n           " + printable_bytes(why);
      line += "\n";
    }
    ++n;
    std::fwrite(line.data(), 1, line.size(), stdout);
  });
  if (format == "jsonl") {
    if (n == 0) log::warn(what);
  } else if (n == 0) {
    std::printf("%s; it recorded no per-key outcomes (see migcheck report --run %lld)\n",
                what.c_str(), static_cast<long long>(rec.id));
  } else {
    std::printf("%lld key%s\n", static_cast<long long>(n), n == 1 ? "" : "s");
  }
  std::fflush(stdout);
  return kExitSame;
}

int run(const DiffsCli& c) {
  log::set_quiet(c.common.quiet);
  log::set_verbose(c.common.verbose);
  Store store(c.common.store, false, /*read_only=*/true);
  std::optional<RunRecord> rec;
  if (c.run > 0) {
    rec = store.run(c.run);
    if (!rec) throw UsageError("store " + c.common.store + " has no run " + std::to_string(c.run));
  } else {
    rec = store.latest_run("compare");
    if (!rec)
      throw UsageError("store " + c.common.store +
                       " has no compare run: run migcheck compare first");
  }
  if (rec->command != "compare") return list_outcomes(store, *rec, c.format);
  DifferenceFilter f;
  if (c.round > 0) f.round = c.round;
  f.kinds = c.kinds;

  if (c.format == "jsonl") {
    std::string line;
    store.for_each_difference(rec->id, f, [&](const Difference& d) {
      nlohmann::json j;
      j["run"] = rec->id;
      j["round"] = d.round;
      j["db"] = d.db;
      put_binary_key(j, d.key);
      put_difference_sides(j, d);
      if (!d.source_digest.empty()) j["source_digest"] = d.source_digest;
      if (!d.target_digest.empty()) j["target_digest"] = d.target_digest;
      if (!d.detail.empty()) j["detail"] = d.detail;
      // Already escaped (printable_bytes) and truncated when stored.
      if (!d.location.empty()) {
        auto loc = nlohmann::json::parse(d.location, nullptr, false);
        if (loc.is_object()) j["location"] = std::move(loc);
      }
      line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), stdout);
    });
    std::fflush(stdout);
    return kExitSame;
  }

  // The header names the round the rows come from (the last one recorded
  // when none is asked for; an interrupted run may have rows of a round it
  // never finished).
  auto header = [&](int round) {
    std::printf("run %lld (%s %s, %s -> %s), round %d\n", static_cast<long long>(rec->id),
                rec->command.c_str(), rec->status.c_str(), printable_bytes(rec->source).c_str(),
                printable_bytes(rec->target).c_str(), round);
    std::printf("%-8s  %-26s  %-26s  %s\n", "KIND", "SOURCE", "TARGET", "KEY");
  };
  int64_t n = 0;
  f.by_key = true;  // a table is read by people: sorted by db, key and kind
  store.for_each_difference(rec->id, f, [&](const Difference& d) {
    if (n++ == 0) header(d.round);
    std::string line = d.kind;
    line.resize(std::max<size_t>(line.size(), 8), ' ');
    std::string src = side_text(d.source_type, d.source_ttl_ms),
                tgt = side_text(d.target_type, d.target_ttl_ms);
    src.resize(std::max<size_t>(src.size(), 26), ' ');
    tgt.resize(std::max<size_t>(tgt.size(), 26), ' ');
    line +=
        "  " + printable_bytes(src) + "  " + printable_bytes(tgt) + "  " + printable_bytes(d.key);
    if (!d.detail.empty()) line += "\n          " + printable_bytes(d.detail);
    if (auto loc = ValueLocation::from_json(d.location)) {
      // Its values are printable_bytes() already (escaping again would
      // double the backslashes); control bytes of a tampered store are not.
      std::string text = loc->summary();
      for (char& ch : text)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
      line += "\n          " + text;
    }
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
  });
  if (n == 0) header(c.round > 0 ? c.round : store.last_round(rec->id));
  std::printf("%lld difference%s\n", static_cast<long long>(n), n == 1 ? "" : "s");
  std::fflush(stdout);
  return kExitSame;
}

}  // namespace

void add_diffs_command(CLI::App& app, Runner& runner) {
  auto [c, sub] = add_command<DiffsCli>(
      app, runner, "diffs",
      "List the differences of a compare run (default: the latest, its last round)", run);
  sub->add_option("--run", c->run,
                  "run id (default: the latest compare run); a repair or replicate run lists its "
                  "per-key outcomes")
      ->check(CLI::PositiveNumber);
  sub->add_option("--round", c->round, "round (default: the run's last round)")
      ->check(CLI::PositiveNumber);
  add_kind_flag(*sub, c->kinds);
  sub->add_option("--format", c->format, "table or jsonl")
      ->check(CLI::IsMember({"table", "jsonl"}))
      ->capture_default_str();
  add_offline_flags(*sub, c->common);
}

}  // namespace migcheck

// The shared flag groups (cli/flag_groups.h) and the recorded options of
// each engine (compare_options.h, replicate_options.h, repair_options.h):
// a flag several commands take reads the same in each, flags bind straight
// into the options structs, and a run's options JSON keeps its keys and
// reads back on --resume.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "compare_options.h"
#include "errors.h"
#include "flag_groups.h"
#include "repair_options.h"
#include "replicate_options.h"

using namespace migcheck;

namespace {

// Every command as main() registers them (none runs).
struct AllCommands {
  CLI::App app{"migcheck"};
  Runner run;
  AllCommands() { add_all_commands(app, run); }
  CLI::App& command(const std::string& name) { return *app.get_subcommand(name); }
};

void parse(CLI::App& app, std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  app.parse(args);
}

// The flags of `o`'s recorded fields (those a command line sets).
template <typename Options>
std::vector<std::string> recorded_flags(Options& o) {
  std::vector<std::string> flags;
  visit_recorded_options(o, [&](const char*, const char* flag, auto&, OnResume) {
    if (flag) flags.emplace_back(flag);
  });
  return flags;
}

std::set<std::string> keys(const nlohmann::json& j) {
  std::set<std::string> k;
  for (const auto& [key, v] : j.items()) k.insert(key);
  return k;
}

ResumableRun stopped_run(nlohmann::json options) {
  ResumableRun r;
  r.record.id = 7;
  r.record.options_json = options.dump();
  r.options = std::move(options);
  return r;
}

}  // namespace

TEST_CASE("flag groups: a flag several commands take has one name, range and help",
          "[flag_groups][cli]") {
  AllCommands all;
  // Flags that mean a different thing per command, on purpose: --run names
  // the compare run to repair, or the run to list or report; --format and
  // info's --json choose each command's own output.
  const std::set<std::string> per_command = {"--run", "--format", "--json"};
  struct Seen {
    std::string command, type, help;
  };
  std::map<std::string, Seen> first;
  std::map<std::string, int> commands_with;
  const CLI::App& app = all.app;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    for (const CLI::Option* opt : sub->get_options()) {
      if (!opt->nonpositional()) continue;
      const std::string name = flag_name(*opt);
      ++commands_with[name];
      if (per_command.count(name)) continue;
      auto [it, added] = first.try_emplace(
          name, Seen{sub->get_name(), opt->get_type_name(), opt->get_description()});
      if (added) continue;
      INFO(name << " in " << it->second.command << " and " << sub->get_name());
      CHECK(opt->get_type_name() == it->second.type);  // the range / validator
      CHECK(opt->get_description() == it->second.help);
    }
  }
  // The drift the shared groups ended: the wider ranges, one help text.
  for (const char* name : {"--connections", "--batch", "--max-ops-per-sec", "--db", "--target-db",
                           "--db-map", "--match", "--type", "--resume", "--dry-run", "--struct",
                           "--kind", "--source-user", "--metrics", "--store"})
    CHECK(commands_with[name] >= 2);
  const CLI::Option* connections = all.command("replicate").get_option("--connections");
  CHECK(connections->get_type_name() == "UINT:UINT in [1 - 256]");
  CHECK_THAT(all.command("repair").get_option("--max-ops-per-sec")->get_description(),
             Catch::Matchers::ContainsSubstring("(0: none)"));
  CHECK(all.command("replicate").get_option("--db")->get_type_name() == "INT:INT in [0 - 1048576]");
  // Defaults stay each command's own.
  CHECK(all.command("compare").get_option("--connections")->get_default_str() == "4");
  CHECK(all.command("replicate").get_option("--connections")->get_default_str() == "2");
  CHECK(all.command("repair").get_option("--connections")->get_default_str() == "1");
  CHECK(all.command("repair").get_option_no_throw("--scan-count") == nullptr);
}

TEST_CASE("flag groups: every recorded option is a flag of its command", "[flag_groups][cli]") {
  AllCommands all;
  CompareOptions c;
  ReplicateOptions r;
  RepairOptions p;
  for (const auto& flag : recorded_flags(c))
    CHECK(all.command("compare").get_option_no_throw(flag) != nullptr);
  for (const auto& flag : recorded_flags(r))
    CHECK(all.command("replicate").get_option_no_throw(flag) != nullptr);
  for (const auto& flag : recorded_flags(p))
    CHECK(all.command("repair").get_option_no_throw(flag) != nullptr);
  for (const char* flag : kDbFlags) {
    CHECK(all.command("compare").get_option_no_throw(flag) != nullptr);
    CHECK(all.command("replicate").get_option_no_throw(flag) != nullptr);
  }
}

TEST_CASE("flag groups: flags bind straight into the options struct", "[flag_groups][cli]") {
  CLI::App app;
  CompareOptions o;
  DbSelection dbs;
  add_duration_option(app, "--interval", o.interval, "wait");
  add_size_option(app, "--big-string", o.big_string, "windows", "1mb", true);
  add_scan_filter_flags(app, o.match, o.types, dbs);
  add_load_flags(app, o);
  CHECK(app.get_option("--interval")->get_default_str() == "5s");
  CHECK(app.get_option("--big-string")->get_default_str() == "1mb");

  parse(app, {"--interval", "250ms", "--big-string", "2kb", "--type", "HASH", "--type", "hash",
              "--db", "3", "--connections", "9", "--match", "a*"});
  CHECK(o.interval == Millis(250));
  CHECK(o.big_string == 2048);
  CHECK(o.connections == 9);
  CHECK(o.batch == 500);  // not given: the struct's default
  // A size given keeps every size as given (no scaling with the round trip).
  CHECK_FALSE(o.size_for_round_trip);
  CHECK(o.match == "a*");
  CHECK(dbs.db == 3);
  normalise_types(o.types);
  CHECK(o.types == std::vector<std::string>{"hash"});
  // In the order the flags are defined.
  CHECK(given_flags(app) == std::vector<std::string>{"--interval", "--big-string", "--match",
                                                     "--type", "--db", "--connections"});

  std::vector<std::string> bad = {"nosuchtype"};
  CHECK_THROWS_AS(normalise_types(bad), UsageError);

  CLI::App refused;
  Millis m{0};
  size_t size = 0;
  add_positive_duration_option(refused, "--timeout", m, "t");
  add_size_option(refused, "--big-string", size, "w", "", true);
  CHECK_THROWS_AS(parse(refused, {"--timeout", "0s"}), CLI::ValidationError);
  CHECK_THROWS_AS(parse(refused, {"--big-string", "0"}), CLI::ValidationError);
  CHECK_THROWS_AS(parse(refused, {"--big-string", "lots"}), CLI::ValidationError);
  CHECK(size == 0);
}

TEST_CASE("flag groups: sizes follow the round trip unless one is given", "[flag_groups][cli]") {
  for (const char* flag : {"--batch", "--scan-count", "--connections"}) {
    CLI::App app;
    ReplicateOptions o;
    add_load_flags(app, o);
    parse(app, {"--max-ops-per-sec", "5"});
    CHECK(o.size_for_round_trip);
    parse(app, {flag, "7"});
    CHECK_FALSE(o.size_for_round_trip);
  }
}

TEST_CASE("recorded options: compare's JSON keeps its keys and reads back on resume",
          "[flag_groups][resume]") {
  CompareOptions o;
  o.source = parse_uri("redis://127.0.0.1:7001/2");
  o.target = parse_uri("redis://127.0.0.1:7002/5");
  o.db_pairs = {DbPair{2, 5}};
  o.rounds = 7;
  o.interval = Millis(1500);
  o.ttl_tolerance = Millis(20);
  o.match = "user:*";
  o.types = {"hash", "zset"};
  o.scan_count = 77;
  o.batch = 33;
  o.connections = 12;
  o.max_ops_per_sec = 2500;
  o.sample = 40;
  o.target_scan = false;
  o.chunk = 64;
  o.big_string = 4096;
  o.source_client.read_from_replica = true;
  o.store_path = "runs.db";
  const nlohmann::json j = compare_options_json(o);
  // The keys stores, reports and resumes have always read.
  CHECK(keys(j) == std::set<std::string>{"source", "target", "rounds", "interval_ms",
                                         "ttl_tolerance_ms", "match", "types", "scan_count",
                                         "batch", "connections", "max_ops_per_sec", "sample",
                                         "target_scan", "chunk", "big_string", "store",
                                         "read_from_replica", "db", "target_db"});
  CHECK(j["interval_ms"] == 1500);
  CHECK(j["source"] == "redis://127.0.0.1:7001/2");
  CHECK(j["db"] == 2);
  CHECK(j["target_db"] == 5);

  // A resume with nothing given again takes every recorded value.
  ResumableRun run = stopped_run(j);
  CompareOptions back;
  CHECK(apply_recorded(run, {}, back, kDbFlags).empty());
  CHECK(back.rounds == 7);
  CHECK(back.interval == Millis(1500));
  CHECK(back.ttl_tolerance == Millis(20));
  CHECK(back.match == "user:*");
  CHECK(back.types == o.types);
  CHECK(back.scan_count == 77);
  CHECK(back.batch == 33);
  CHECK(back.connections == 12);
  CHECK(back.max_ops_per_sec == 2500);
  CHECK(back.sample == 40);
  CHECK(!back.target_scan);
  CHECK(back.chunk == 64);
  CHECK(back.big_string == 4096);
  CHECK(back.source_client.read_from_replica);
  CHECK(back.store_path.empty());  // the store is the command line's
  CHECK(run.options == j);

  // Speed and load given again take effect and are recorded; the rest keep
  // the run's values and are said to be ignored, in command-line order.
  ResumableRun again = stopped_run(j);
  CompareOptions cli;
  cli.batch = 900;
  cli.rounds = 1;
  const auto ignored = apply_recorded(
      again, {"--quiet", "--rounds", "--batch", "--db", "--locate-max-bytes"}, cli, kDbFlags);
  CHECK(ignored == std::vector<std::string>{"--rounds", "--db"});
  CHECK(cli.batch == 900);
  CHECK(again.options["batch"] == 900);
  CHECK(cli.rounds == 7);
  CHECK(again.options["rounds"] == 7);
}

TEST_CASE("recorded options: a run recorded before keeps its defaults for missing keys",
          "[flag_groups][resume]") {
  // An older run's options: no read_from_replica, no big_string.
  ResumableRun run = stopped_run(nlohmann::json::parse(
      R"({"source":"redis://a:1","target":"redis://b:2","rounds":2,"interval_ms":100,
          "ttl_tolerance_ms":1000,"match":"","types":[],"scan_count":1000,"batch":500,
          "connections":4,"max_ops_per_sec":0,"sample":0,"target_scan":true,"chunk":1000,
          "store":"migcheck.db","all_dbs":true})"));
  CompareOptions o;
  o.big_string = 99;
  apply_recorded(run, {}, o);
  CHECK(o.rounds == 2);
  CHECK(o.interval == Millis(100));
  CHECK(o.big_string == 99);
  CHECK(!o.source_client.read_from_replica);
}

TEST_CASE("recorded options: replicate's and repair's JSON and resume", "[flag_groups][resume]") {
  ReplicateOptions r;
  r.source = parse_uri("redis://127.0.0.1:7001");
  r.target = parse_uri("redis://127.0.0.1:7002");
  r.all_dbs = true;
  r.mode = ReplicateMode::LiveOnly;
  r.idle = Millis(3000);
  r.verify = true;
  r.structural = true;
  r.mem_limit = 1 << 20;
  r.batch = 10;
  r.queue_capacity = 5;
  r.assume_notifications = true;
  r.delete_extra = true;
  const nlohmann::json rj = replicate_options_json(r);
  CHECK(keys(rj) == std::set<std::string>{"source", "target", "mode", "idle_ms", "verify", "struct",
                                          "match", "types", "mem_limit", "scan_count", "batch",
                                          "connections", "max_ops_per_sec", "dry_run",
                                          "assume_notifications", "delete_extra", "queue", "store",
                                          "all_dbs"});
  CHECK(rj["mode"] == "liveonly");
  CHECK(rj["delete_extra"] == true);
  CHECK(rj["idle_ms"] == 3000);
  CHECK(rj["queue"] == 5);
  ResumableRun run = stopped_run(rj);
  ReplicateOptions back;
  const auto ignored = apply_recorded(run, {"--verify", "--queue", "--idle"}, back, kDbFlags);
  CHECK(ignored == std::vector<std::string>{"--verify"});  // live-mode settings: not resumed
  CHECK(back.mode == ReplicateMode::LiveOnly);
  CHECK(back.verify);
  CHECK(back.structural);
  CHECK(back.mem_limit == (1u << 20));
  CHECK(back.batch == 10);
  CHECK(back.queue_capacity == ReplicateOptions{}.queue_capacity);
  CHECK_FALSE(back.delete_extra);  // recorded for the report; the command line decides

  RepairOptions p;
  p.source = parse_uri("redis://127.0.0.1:7001");
  p.target = parse_uri("redis://127.0.0.1:7002");
  p.compare_run = 41;
  p.kinds = {"ttl", "value"};
  p.delete_extra = true;
  p.connections = 3;
  p.ttl_tolerance = Millis(250);
  const nlohmann::json pj = repair_options_json(p, 2);
  CHECK(keys(pj) == std::set<std::string>{"source", "target", "compare_run", "round", "kinds",
                                          "delete_extra", "dry_run", "struct", "batch",
                                          "connections", "max_ops_per_sec", "ttl_tolerance_ms",
                                          "store"});
  CHECK(pj["compare_run"] == 41);
  CHECK(pj["round"] == 2);
  CHECK(pj["ttl_tolerance_ms"] == 250);
  ResumableRun rrun = stopped_run(pj);
  RepairOptions pback;
  pback.connections = 8;
  const auto pignored = apply_recorded(rrun, {"--run", "--connections"}, pback);
  CHECK(pignored == std::vector<std::string>{"--run"});
  CHECK(pback.compare_run == 41);
  CHECK(pback.kinds == p.kinds);
  CHECK(pback.delete_extra);
  CHECK(pback.connections == 8);
  CHECK(rrun.options["connections"] == 8);
}

// Builds the report tests' store through the public Store API only.
#include "report_fixture.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "html_escape.h"

namespace migcheck::test {

ReportTempDir::ReportTempDir() {
  static std::atomic<int> counter{0};
  dir_ = std::filesystem::temp_directory_path() /
         ("migcheck-report-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
}

ReportTempDir::~ReportTempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

namespace {

// A standalone TLS primary at `endpoint` (rediss://user@host:port) holding
// 1050 keys (1000 in db 0, 50 in db 1), that allows CONFIG and writes RDB 11.
ServerFacts standalone_facts(const std::string& endpoint, const std::string& engine,
                             const std::string& version, int64_t used_memory, int64_t maxmemory,
                             const std::string& policy, const std::string& notify,
                             const std::string& run_id) {
  const std::string addr = endpoint.substr(endpoint.find('@') + 1);
  ServerFacts f;
  f.endpoint = endpoint;
  f.engine = engine;
  f.version = version;
  f.mode = "standalone";
  f.role = "master";
  f.tls = true;
  f.keys_per_db = {{0, 1000}, {1, 50}};
  f.used_memory = used_memory;
  f.maxmemory = maxmemory;
  f.maxmemory_policy = policy;
  f.notify_keyspace_events = notify;
  f.config_allowed = true;
  f.rdb_version = 11;
  f.nodes = {NodeFacts{addr, "primary", {}, 1050}};
  f.identity = ServerIdentity{{run_id}, {}, {addr}, {}, 1};
  return f;
}

}  // namespace

ServerFacts report_source_facts() {
  return standalone_facts("rediss://app@10.0.0.5:6380", "redis", "7.2.4", 100 * 1024 * 1024, 0,
                          "allkeys-lru", "KEA", "5a1d9c0e7b3f4a2c8d6e1f0a9b8c7d6e5f4a3b2c");
}

ServerFacts report_target_facts() {
  return standalone_facts("rediss://migrator@10.0.1.9:6379", "valkey", "8.0.1", 90 * 1024 * 1024,
                          1024LL * 1024 * 1024, "noeviction", "",
                          "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d");
}

namespace {

Difference diff(int round, std::string key, std::string_view kind, std::string src_type,
                std::string tgt_type, int64_t src_ttl = -1, int64_t tgt_ttl = -1,
                std::string detail = "") {
  Difference d;
  d.round = round;
  d.key = std::move(key);
  d.kind = std::string(kind);
  d.source_type = std::move(src_type);
  d.target_type = std::move(tgt_type);
  d.source_ttl_ms = src_ttl;
  d.target_ttl_ms = tgt_ttl;
  d.source_size = d.source_type == "none" ? -1 : 3;
  d.target_size = d.target_type == "none" ? -1 : 2;
  d.detail = std::move(detail);
  return d;
}

Difference with_location(Difference d, const ValueLocation& l) {
  d.location = l.to_json();
  return d;
}

}  // namespace

ValueLocation report_stream_location() {
  ValueLocation l;
  l.located = true;
  l.part = "entry";
  l.at = "1-1";
  l.source = printable_bytes(kReportLocationValue);
  l.source_bytes = static_cast<int64_t>(kReportLocationValue.size());
  return l;
}

std::vector<Difference> report_last_round_differences() {
  return {
      diff(3, "user:1001", kKindMissing, "string", "none", -1, -2),
      diff(3, std::string(kScriptKey), kKindMissing, "string", "none", -1, -2),
      diff(3, std::string(kImgKey), kKindExtra, "none", "hash", -2, -1),
      diff(3, std::string(kTitleKey), kKindExtra, "none", "string", -2, -1),
      diff(3, "cart:7", kKindType, "list", "set"),
      diff(3, "session:a", kKindTtl, "string", "string", 3'600'000, 3'590'000),
      diff(3, "session:b", kKindTtl, "string", "string", 60'000, 59'500),
      diff(3, "session:c", kKindTtl, "hash", "hash", -1, 30'000),
      diff(3, kBinaryKey, kKindValue, "string", "string", -1, -1, "bytes differ at offset 0"),
      diff(3, std::string("half\xc3\x28utf8", 10), kKindValue, "zset", "zset", -1, -1,
           "changed while read in chunks"),
      with_location(diff(3, "emoji \xF0\x9F\x9A\x80 ok", kKindValue, "stream", "stream"),
                    report_stream_location()),
  };
}

ReportRuns populate_report_store(Store& store) {
  ReportRuns runs;
  const std::string src = nlohmann::json(to_json(report_source_facts())).dump();
  const std::string tgt = nlohmann::json(to_json(report_target_facts())).dump();

  RunRecord compare;
  compare.command = "compare";
  compare.source = "rediss://app@10.0.0.5:6380";
  compare.target = "rediss://migrator@10.0.1.9:6379";
  compare.options_json = R"({"rounds":3,"scan_count":1000,"source_pass":"hunter2"})";
  runs.compare = store.begin_run(compare);
  store.set_server_info(runs.compare, src, tgt);
  store.set_totals(
      runs.compare,
      R"({"keys_checked":3150,"big_keys":{"count":2,"keys":[{"key":"big:zset","db":0,"type":"zset","size":250000},)"
      R"({"key_base64":"YmlnAP8=","db":0,"type":"hash","size":100000}]}})");
  const int64_t per_round[] = {40, 12, 11};
  for (int round = 1; round <= 3; ++round) {
    store.put_round(RoundRecord{runs.compare, round, 1050, per_round[round - 1],
                                1'700'000'000'000 + round * 60'000,
                                1'700'000'000'000 + round * 60'000 + 30'000});
    std::vector<Difference> diffs;
    if (round < 3) {
      for (int64_t i = 0; i < per_round[round - 1]; ++i)
        diffs.push_back(diff(round, "early:" + std::to_string(round) + ":" + std::to_string(i),
                             i % 2 ? kKindValue : kKindMissing, "string",
                             i % 2 ? "string" : "none"));
    } else {
      diffs = report_last_round_differences();
    }
    store.add_differences(runs.compare, diffs);
  }
  store.finish_run(runs.compare, "done", 1);

  RunRecord repair;
  repair.command = "repair";
  repair.parent = runs.compare;
  repair.source = compare.source;
  repair.target = compare.target;
  repair.options_json = R"({"dry_run":false})";
  runs.repair = store.begin_run(repair);
  store.set_server_info(runs.repair, src, tgt);
  std::vector<Outcome> outcomes = {
      {0, "user:1001", migcheck::Outcome::Action::Restore, migcheck::Outcome::Result::Repaired, "",
       ""},
      {0, std::string(kScriptKey), migcheck::Outcome::Action::Restore,
       migcheck::Outcome::Result::Failed, "ERR DUMP payload version or checksum are wrong", ""},
      {0, std::string(kImgKey), migcheck::Outcome::Action::Delete,
       migcheck::Outcome::Result::Failed, "READONLY You can't write against a read only replica.",
       ""},
      {0, std::string(kTitleKey), migcheck::Outcome::Action::Delete,
       migcheck::Outcome::Result::Deleted, "", ""},
      {0, "cart:7", migcheck::Outcome::Action::Fallback, migcheck::Outcome::Result::Repaired, "",
       "type changed"},
      {0, kBinaryKey, migcheck::Outcome::Action::Restore, migcheck::Outcome::Result::Failed,
       "OOM command not allowed <when used memory > 'maxmemory'>", ""},
      {0, "session:a", migcheck::Outcome::Action::Restore, migcheck::Outcome::Result::Repaired, "",
       ""},
  };
  store.add_outcomes(runs.repair, outcomes);
  store.finish_run(runs.repair, "done", 1);

  RunRecord replicate;
  replicate.command = "replicate";
  // A password in a stored endpoint must never reach a report.
  replicate.source = "redis://admin:hunter2@10.0.0.5:6379";
  replicate.target = "redis://10.0.1.9:6379";
  replicate.options_json = R"({"live":true})";
  runs.replicate = store.begin_run(replicate);
  store.set_server_info(runs.replicate, src, "");
  std::vector<Outcome> copied;
  for (int i = 0; i < 25; ++i)
    copied.push_back({0, "k:" + std::to_string(i), migcheck::Outcome::Action::Restore,
                      migcheck::Outcome::Result::Copied, "", ""});
  store.add_outcomes(runs.replicate, copied);
  store.finish_run(runs.replicate, "interrupted", 2);
  return runs;
}

ReportRuns populate_report_file(const std::string& path) {
  Store store(path);
  return populate_report_store(store);
}

}  // namespace migcheck::test

namespace migcheck::test {

namespace {

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string read_report_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

CliResult run_migcheck_cli(const std::vector<std::string>& args) {
  ReportTempDir tmp;
  std::string cmd = shell_quote(MIGCHECK_BINARY);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + shell_quote(tmp.file("out")) + " 2>" + shell_quote(tmp.file("err")) + " </dev/null";
  int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_report_file(tmp.file("out"));
  r.err = read_report_file(tmp.file("err"));
  return r;
}

}  // namespace migcheck::test

// Integration tests of `migcheck compare` and `migcheck diffs`: the engine
// (compare/compare.h) called directly against real Redis 7.0 / Valkey 8
// servers, and the CLI for exit codes, output and binary keys.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "assets.h"
#include "cli_runner.h"
#include "compare.h"
#include "encoding.h"
#include "errors.h"
#include "report_json.h"
#include "report_model.h"
#include "report_schema_validator.h"
#include "server_fixture.h"
#include "store.h"
#include "test_util.h"

using namespace migcheck;
using migcheck::test::run_migcheck;
using migcheck::test::ServerOptions;
using migcheck::test::TestServer;
using namespace std::string_literals;

namespace {

using migcheck::test::Cmds;
using Rows = std::set<std::pair<std::string, std::string>>;  // (key, kind)

std::string tmp_store(const std::string& name) {
  return migcheck::test::tmp_store("compare", name);
}

ServerOptions big_encodings() {
  return ServerOptions{.binary = "valkey-server",
                       .config = {{"hash-max-listpack-entries", "0"},
                                  {"set-max-intset-entries", "0"},
                                  {"set-max-listpack-entries", "0"},
                                  {"zset-max-listpack-entries", "0"},
                                  {"list-max-listpack-size", "1"}}};
}

CompareOptions options(TestServer& source, TestServer& target) {
  CompareOptions o;
  o.source = parse_uri(source.uri());
  o.target = parse_uri(target.uri());
  o.rounds = 1;
  o.interval = Millis(50);
  o.connections = 2;
  o.batch = 64;
  o.progress = false;
  return o;
}

Rows rows(Store& store, int64_t run, std::optional<int> round = std::nullopt) {
  Rows out;
  DifferenceFilter f;
  f.round = round;
  store.for_each_difference(run, f, [&](const Difference& d) { out.emplace(d.key, d.kind); });
  return out;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every type, `n` keys each, in insertion order or reversed.
Cmds dataset(int n, bool reversed) {
  Cmds c;
  for (int i = 0; i < n; ++i) {
    const std::string k = std::to_string(i);
    c.push_back({"SET", "s:" + k, "value-" + k});
    if (!reversed) {
      c.push_back({"HSET", "h:" + k, "a", k, "b", "x", "c", "y"});
      c.push_back({"RPUSH", "l:" + k, "1", "2", k});
      c.push_back({"SADD", "st:" + k, "m1", "m2", k});
      c.push_back({"SADD", "is:" + k, "1", "2", k});
      c.push_back({"ZADD", "z:" + k, "0.1", "a", k, "b", "1e3", "c"});
    } else {
      c.push_back({"HSET", "h:" + k, "c", "y", "b", "x", "a", k});
      c.push_back({"LPUSH", "l:" + k, k, "2", "1"});
      c.push_back({"SADD", "st:" + k, k, "m2", "m1"});
      c.push_back({"SADD", "is:" + k, k, "2", "1"});
      c.push_back({"ZADD", "z:" + k, "1000", "c", k + ".0", "b", "0.10000000000000001", "a"});
    }
    if (i % 5 == 0) {
      c.push_back({"XADD", "x:" + k, "1-1", "f", "v"});
      c.push_back({"XADD", "x:" + k, "2-1", "f", k});
      c.push_back({"XGROUP", "CREATE", "x:" + k, "g", "0"});
      c.push_back({"XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "x:" + k, ">"});
    }
  }
  return c;
}

}  // namespace

TEST_CASE("compare: each change is reported for exactly its key, with the right kind",
          "[compare][integration]") {
  TestServer source;                   // Redis 7.0, default encodings
  TestServer target(big_encodings());  // Valkey 8, other encodings
  source.pipeline(dataset(60, false));
  target.pipeline(dataset(60, true));
  const std::string far = std::to_string(now_ms() + 3600 * 1000);
  const std::string nearer = std::to_string(now_ms() + 1800 * 1000);
  Cmds both = {{"SET", "ttl:diff", "v", "PXAT", far},
               {"SET", "ttl:gone", "v", "PXAT", far},
               {"SET", "ttl:same", "v", "PXAT", far},
               {"SET", "both", "v1", "PXAT", far},
               {"SET", "type:k", "a string"},
               {"XADD", "x:entry", "1-1", "f", "v"},
               {"XADD", "x:entry", "2-1", "f", "w"},
               {"XADD", "x:group", "1-1", "f", "v"},
               {"XGROUP", "CREATE", "x:group", "g", "0"}};
  source.pipeline(both);
  target.pipeline(both);
  source.cmd({"SET", "missing:k", "only on source"});
  target.pipeline({{"SET", "extra:k", "only on target"},
                   {"SET", "s:3", "value-3!"},   // string value
                   {"LSET", "l:4", "1", "two"},  // one list element
                   {"HSET", "h:5", "b", "X"},    // one hash field
                   {"SREM", "st:6", "m1"},       // one set member
                   {"SADD", "st:6", "m0"},
                   {"ZADD", "z:7", "1001", "c"},                // one score
                   {"XDEL", "x:entry", "2-1"},                  // one stream entry
                   {"XGROUP", "SETID", "x:group", "g", "1-1"},  // one group
                   {"PEXPIREAT", "ttl:diff", nearer},           // TTL 30 min shorter
                   {"PERSIST", "ttl:gone"},                     // TTL dropped
                   {"SET", "both", "v2", "PXAT", nearer},       // value and TTL
                   {"DEL", "type:k"},
                   {"HSET", "type:k", "f", "v"}});

  const std::string path = tmp_store("kinds");
  Store store(path);
  CompareOptions o = options(source, target);
  o.rounds = 2;
  CompareResult r = run_compare(o, store);
  const Rows expected = {{"s:3", "value"},         {"l:4", "value"},    {"h:5", "value"},
                         {"st:6", "value"},        {"z:7", "value"},    {"x:entry", "value"},
                         {"x:group", "value"},     {"ttl:diff", "ttl"}, {"ttl:gone", "ttl"},
                         {"both", "ttl"},          {"both", "value"},   {"type:k", "type"},
                         {"missing:k", "missing"}, {"extra:k", "extra"}};
  CHECK(rows(store, r.run_id) == expected);
  CHECK(rows(store, r.run_id, 1) == expected);
  CHECK(r.exit_code == 1);
  CHECK(r.differences == static_cast<int64_t>(expected.size()));
  REQUIRE(r.rounds.size() == 2);
  CHECK(r.rounds[1].keys_checked == static_cast<int64_t>(expected.size()) - 1);  // "both" once
  CHECK(r.keys_checked == std::stoll(source.cmd({"DBSIZE"})));
  CHECK(r.keys_by_type.at("stream") == 14);

  // The rows carry what repair and humans need.
  store.for_each_difference(r.run_id, {}, [&](const Difference& d) {
    INFO(d.key << " " << d.kind << " " << d.detail);
    CHECK(d.round == 2);
    if (d.kind == "missing") {
      CHECK(d.source_type == "string");
      CHECK(d.target_type == "none");
      CHECK(d.target_ttl_ms == -2);
      CHECK(d.source_ttl_ms == -1);
    } else if (d.kind == "extra") {
      CHECK(d.source_type == "none");
      CHECK(d.target_type == "string");
      CHECK(d.source_ttl_ms == -2);
    } else if (d.kind == "type") {
      CHECK(d.source_type == "string");
      CHECK(d.target_type == "hash");
    } else if (d.key == "ttl:gone") {
      CHECK(d.source_ttl_ms > 0);
      CHECK(d.target_ttl_ms == -1);
    } else if (d.kind == "value") {
      CHECK(d.source_digest.size() == 32);
      CHECK(d.target_digest.size() == 32);
      CHECK(d.source_digest != d.target_digest);
    }
  });
  auto runs = store.run(r.run_id);
  REQUIRE(runs);
  CHECK(runs->status == "done");
  CHECK(runs->exit_code == 1);
  CHECK(runs->source_info_json.find("\"engine\":\"redis\"") != std::string::npos);
  CHECK(runs->target_info_json.find("\"engine\":\"valkey\"") != std::string::npos);
  auto opts = nlohmann::json::parse(runs->options_json);
  CHECK(opts["rounds"] == 2);
  auto totals = nlohmann::json::parse(runs->totals_json);
  CHECK(totals["differences"] == expected.size());
  CHECK(store.rounds(r.run_id).size() == 2);

  // A tolerance wider than 30 min accepts the shorter TTL, never a missing one.
  o.rounds = 1;
  o.ttl_tolerance = Millis(3600 * 1000);
  CompareResult tolerant = run_compare(o, store);
  Rows loose = expected;
  loose.erase({"ttl:diff", "ttl"});
  loose.erase({"both", "ttl"});
  CHECK(rows(store, tolerant.run_id) == loose);
}

TEST_CASE(
    "compare: equal data in other encodings, orders and engines has no differences; only reads are "
    "sent",
    "[compare][integration]") {
  TestServer source;                                                // Redis 7.0
  TestServer same_order(ServerOptions{.binary = "valkey-server"});  // Valkey 8, same config
  TestServer other(big_encodings());                                // Valkey 8, other encodings
  const std::string at = std::to_string(now_ms() + 600000);
  Cmds extra = {{"SET", "exp", "v", "PXAT", at},
                {"HSET", "exph", "f", "v"},
                {"PEXPIREAT", "exph", at},
                {"SET", "bin\0\xff\r\n"s, "\0"s},
                {"SET", "empty", ""}};
  Cmds data = dataset(100, false);
  data.insert(data.end(), extra.begin(), extra.end());
  Cmds reversed = dataset(100, true);
  reversed.insert(reversed.end(), extra.begin(), extra.end());
  source.pipeline(data);
  same_order.pipeline(data);
  other.pipeline(reversed);
  CHECK(other.cmd({"OBJECT", "ENCODING", "is:1"}) == "hashtable");
  CHECK(source.cmd({"OBJECT", "ENCODING", "is:1"}) == "intset");
  // Redis 7.0 and Valkey 8 print this score differently.
  CHECK(source.cmd({"ZSCORE", "z:1", "a"}) != other.cmd({"ZSCORE", "z:1", "a"}));

  for (TestServer* s : {&source, &same_order, &other}) s->cmd({"CONFIG", "RESETSTAT"});
  Store store(tmp_store("equal"));
  for (TestServer* target : {&same_order, &other}) {
    CompareOptions o = options(source, *target);
    o.rounds = 3;
    CompareResult r = run_compare(o, store);
    CHECK(r.differences == 0);
    CHECK(r.exit_code == 0);
    CHECK(r.rounds.size() == 1);  // nothing to re-check
    CHECK(r.keys_checked == 100 * 6 + 20 + 4);
    // Both unchanged with equal key counts: no target scan needed (target_scan_skip.h).
    CHECK(r.target_scan_settled);
    CHECK(r.target_keys_scanned == 0);
    CHECK(rows(store, r.run_id).empty());
  }

  // Only read commands reached the servers (plus the handshake and INFO).
  const std::set<std::string> allowed = {
      "info",         "type",           "pttl",   "getrange",     "lrange",
      "hscan",        "sscan",          "zrange", "xinfo|stream", "scan",
      "exists",       "randomkey",
      "memory|usage",  // sizing the key to DUMP (server facts)
      "dump",         "client|setname", "time",   "config|get",   "config|resetstat",
      "dbsize",       "strlen",         "llen",   "hlen",         "scard",
      "zcard",        "xlen",           "xrange", "xpending",     "select",
      "ping",
      "command|info",  // does the server have hash-field expiration (HPEXPIRETIME)?
  };
  for (TestServer* s : {&source, &same_order, &other}) {
    std::istringstream in(s->cmd({"INFO", "commandstats"}));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("cmdstat_", 0) != 0) continue;
      const std::string name = line.substr(8, line.find(':') - 8);
      INFO("command sent: " << name);
      CHECK(allowed.count(name) == 1);
    }
  }
}

TEST_CASE("compare: a 200k-member set and hash compare correctly, read in chunks",
          "[compare][integration]") {
  TestServer source;
  TestServer target(ServerOptions{.binary = "valkey-server"});
  Cmds c;
  for (int i = 0; i < 200000; i += 1000) {
    std::vector<std::string> sadd{"SADD", "big:set"}, hset{"HSET", "big:hash"};
    for (int j = i; j < i + 1000; ++j) {
      sadd.push_back("member-" + std::to_string(j));
      hset.push_back("field-" + std::to_string(j));
      hset.push_back(std::to_string(j * 7));
    }
    c.push_back(std::move(sadd));
    c.push_back(std::move(hset));
  }
  c.push_back({"SET", "small", "v"});
  source.pipeline(c);
  target.pipeline(c);

  Store store(tmp_store("big"));
  CompareOptions o = options(source, target);
  CompareResult same = run_compare(o, store);
  CHECK(same.differences == 0);
  CHECK(same.source_stats.chunked_keys == 2);
  CHECK(same.target_stats.chunked_keys == 2);
  CHECK(same.source_stats.chunk_commands > 500);

  target.pipeline({{"SREM", "big:set", "member-123456"},
                   {"SADD", "big:set", "member-x"},
                   {"HSET", "big:hash", "field-199999", "0"}});
  CompareResult diff = run_compare(o, store);
  CHECK(rows(store, diff.run_id) == Rows{{"big:set", "value"}, {"big:hash", "value"}});
  store.for_each_difference(diff.run_id, {}, [](const Difference& d) {
    CHECK(d.source_size == 200000);
    CHECK(d.target_size == 200000);
  });
}

TEST_CASE(
    "compare: big keys (read in chunks) are counted once in totals.big_keys and reach the report",
    "[compare][integration]") {
  TestServer source;
  TestServer target;
  // With --chunk 10 and --big-string 256: one big key of every type, one
  // with a name that is not UTF-8, and small keys of every type.
  const std::string binary_key = "big:\xff\x00"s + "bin";
  Cmds c;
  std::vector<std::string> list{"RPUSH", "big:list"}, bin{"RPUSH", binary_key},
      hash{"HSET", "big:hash"}, set{"SADD", "big:set"}, zset{"ZADD", "big:zset"};
  // Hashes and sets of listpack encoding come back whole from one HSCAN or
  // SSCAN, whatever its COUNT: these two have more elements than any
  // default *-max-listpack-entries (128 or 512).
  for (int i = 0; i < 600; ++i) {
    const std::string k = std::to_string(i);
    if (i < 15) {
      list.push_back(k);
      bin.push_back(k);
    }
    if (i < 30) {
      zset.insert(zset.end(), {k, "m" + k});
      c.push_back({"XADD", "big:stream", "*", "f", k});
    }
    hash.insert(hash.end(), {"f" + k, k});
    set.push_back("m" + k);
  }
  for (auto* cmd : {&list, &bin, &hash, &set, &zset}) c.push_back(*cmd);
  c.push_back({"SET", "big:string", std::string(1000, 'x')});
  for (auto& cmd : dataset(20, false)) c.push_back(cmd);
  source.pipeline(c);
  target.pipeline(c);
  // A difference in a big key, so round 2 re-reads it; a big key only on the
  // target (the target scan reads no values).
  std::vector<std::string> extra{"RPUSH", "only:target:big"};
  for (int i = 0; i < 50; ++i) extra.push_back(std::to_string(i));
  target.pipeline({{"HSET", "big:hash", "f7", "changed"}, extra});

  const std::map<std::string, std::pair<std::string, int64_t>> want{
      {"big:list", {"list", 15}},      {binary_key, {"list", 15}}, {"big:hash", {"hash", 600}},
      {"big:set", {"set", 600}},       {"big:zset", {"zset", 30}}, {"big:stream", {"stream", 30}},
      {"big:string", {"string", 1000}}};

  Store store(tmp_store("bigkeys"));
  CompareOptions o = options(source, target);
  o.rounds = 2;
  o.chunk = 10;
  o.big_string = 256;
  CompareResult r = run_compare(o, store);
  REQUIRE(r.rounds.size() == 2);  // big:hash differs in round 2 too, and is not counted again
  CHECK(r.big_keys == 7);
  CHECK(r.big_keys_listed.size() == 7);

  auto rec = store.run(r.run_id);
  REQUIRE(rec);
  auto totals = nlohmann::json::parse(rec->totals_json);
  REQUIRE(totals.contains("big_keys"));
  const auto& bk = totals["big_keys"];
  CHECK(bk["count"] == 7);
  INFO(bk.dump());
  REQUIRE(bk["keys"].size() == 7);
  std::map<std::string, std::pair<std::string, int64_t>> got;
  for (const auto& k : bk["keys"]) {
    CHECK(k["db"] == 0);
    std::string key;
    if (k.contains("key")) {
      key = k["key"].get<std::string>();
    } else {
      key = base64_decode(k["key_base64"].get<std::string>()).value_or("?");
      CHECK(key == binary_key);  // only the non-UTF-8 name is base64
    }
    got[key] = {k["type"].get<std::string>(), k["size"].get<int64_t>()};
  }
  CHECK(got == want);

  // The report's big-keys check and section reflect them.
  ReportModel m = build_report(store, {.run = r.run_id, .sample_limit = 100, .now_ms = 0});
  CHECK(m.big_keys.evaluated);
  CHECK(m.big_keys.count == 7);
  CHECK(m.big_keys.keys.size() == 7);
  auto check = std::find_if(m.checks.begin(), m.checks.end(),
                            [](const Check& ch) { return ch.id == "big_keys"; });
  REQUIRE(check != m.checks.end());
  CHECK(check->status == CheckStatus::kWarn);
  CHECK(check->detail.find("7 big keys") != std::string::npos);
  const nlohmann::json doc = nlohmann::json::parse(report_json_text(m));
  CHECK(doc["big_keys"]["evaluated"] == true);
  CHECK(doc["big_keys"]["count"] == 7);
  CHECK(doc["big_keys"]["keys"].size() == 7);
  CHECK(migcheck::test::validate_against_schema(nlohmann::json::parse(asset("report.schema.json")),
                                                doc)
            .empty());

  // More big keys than are listed: all counted, the first kBigKeysListed listed.
  Cmds more;
  for (int i = 0; i < 25; ++i)
    more.push_back({"RPUSH", "big:more:" + std::to_string(i), "1", "2", "3", "4", "5", "6", "7",
                    "8", "9", "10", "11"});
  source.pipeline(more);
  target.pipeline(more);
  CompareResult many = run_compare(o, store);
  CHECK(many.big_keys == 32);
  auto many_totals = nlohmann::json::parse(store.run(many.run_id)->totals_json);
  CHECK(many_totals["big_keys"]["count"] == 32);
  CHECK(many_totals["big_keys"]["keys"].size() == kBigKeysListed);

  // Default thresholds: nothing is big; the check passes.
  CompareResult none = run_compare(options(source, target), store);
  auto none_totals = nlohmann::json::parse(store.run(none.run_id)->totals_json);
  CHECK(none_totals["big_keys"]["count"] == 0);
  CHECK(none_totals["big_keys"]["keys"].empty());
  ReportModel nm = build_report(store, {.run = none.run_id, .sample_limit = 100, .now_ms = 0});
  auto none_check = std::find_if(nm.checks.begin(), nm.checks.end(),
                                 [](const Check& ch) { return ch.id == "big_keys"; });
  REQUIRE(none_check != nm.checks.end());
  CHECK(none_check->status == CheckStatus::kPass);
}

TEST_CASE(
    "compare: a key changed on the source and fixed on the target between rounds is not reported",
    "[compare][integration]") {
  TestServer source;
  TestServer target;
  source.pipeline({{"SET", "k", "v2"}, {"SET", "still", "a"}, {"SET", "same", "x"}});
  target.pipeline({{"SET", "k", "v1"}, {"SET", "still", "b"}, {"SET", "same", "x"}});
  const std::string path = tmp_store("rounds");
  Store store(path);
  CompareOptions o = options(source, target);
  o.rounds = 3;
  o.interval = Millis(1500);
  CompareResult r;
  std::exception_ptr failure;
  std::thread run([&] {
    try {
      r = run_compare(o, store);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  // Replication catches up once round 1 is recorded.
  Store watch(path, false);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool fixed = false;
  while (std::chrono::steady_clock::now() < deadline && !failure) {
    auto latest = watch.latest_run("compare");
    if (latest && !watch.rounds(latest->id).empty()) {
      target.cmd({"SET", "k", "v2"});
      fixed = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  run.join();
  if (failure) std::rethrow_exception(failure);
  REQUIRE(fixed);
  REQUIRE(r.rounds.size() == 3);
  CHECK(r.rounds[0].differences == 2);
  CHECK(r.rounds[1].differences == 1);
  CHECK(r.rounds[2].keys_checked == 1);
  CHECK(rows(store, r.run_id) == Rows{{"still", "value"}});
  CHECK(rows(store, r.run_id, 1) == Rows{{"k", "value"}, {"still", "value"}});
  CHECK(r.exit_code == 1);
  auto stored = store.rounds(r.run_id);
  REQUIRE(stored.size() == 3);
  CHECK(stored[0].differences == 2);
  CHECK(stored[2].differences == 1);
}

TEST_CASE("compare: binary keys round-trip through the CLI and diffs --format jsonl",
          "[compare][integration]") {
  TestServer source;
  TestServer target(ServerOptions{.binary = "valkey-server"});
  const std::vector<std::string> keys = {
      "bin\0key"s, "\xff\xfe\x80"s, "new\nline", "emoji \xf0\x9f\x99\x82", "esc\x1b[31mred",
      "",          "plain"};
  Cmds load;
  for (const auto& k : keys) load.push_back({"SET", k, "v"});
  source.pipeline(load);
  target.cmd({"SET", "plain", "v"});
  target.cmd({"SET", "only\x01target", "v"});
  const std::string store = tmp_store("binary");

  auto r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "2",
                         "--interval", "50ms", "--connections", "1"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("Result: DIFFERENT (7 differences)") != std::string::npos);
  CHECK(r.out.find("missing") != std::string::npos);
  CHECK(r.err.find("compare run 1") != std::string::npos);

  auto j = run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  REQUIRE(j.exit_code == 0);
  std::map<std::string, std::string> got;  // key bytes -> kind
  std::istringstream in(j.out);
  auto unbase64 = [](const std::string& s) {
    const std::string abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    int val = 0, bits = -8;
    for (char ch : s) {
      if (ch == '=') break;
      val = (val << 6) + static_cast<int>(abc.find(ch));
      bits += 6;
      if (bits >= 0) {
        out.push_back(static_cast<char>((val >> bits) & 0xff));
        bits -= 8;
      }
    }
    return out;
  };
  for (std::string line; std::getline(in, line);) {
    auto o = nlohmann::json::parse(line);
    std::string key;
    if (o.contains("key")) {
      key = o["key"].get<std::string>();
    } else {
      key = unbase64(o["key_base64"].get<std::string>());
      CHECK(key == keys[1]);  // the only key that is not UTF-8 (NUL is valid UTF-8)
    }
    got[key] = o["kind"];
    CHECK(o.contains("source_ttl_ms"));
    CHECK(o["round"] == 2);
  }
  std::map<std::string, std::string> want;
  for (size_t i = 0; i + 1 < keys.size(); ++i) want[keys[i]] = "missing";
  want["only\x01target"] = "extra";
  CHECK(got == want);
  CHECK(j.out.find("key_base64") != std::string::npos);  // the \xff\xfe\x80 key

  auto t = run_migcheck({"diffs", "--store", store, "--kind", "missing"});
  REQUIRE(t.exit_code == 0);
  CHECK(t.out.find("bin\\x00key") != std::string::npos);
  CHECK(t.out.find("\\xFF\\xFE\\x80") != std::string::npos);
  CHECK(t.out.find("new\\x0Aline") != std::string::npos);
  CHECK(t.out.find("esc\\x1B[31mred") != std::string::npos);
  CHECK(t.out.find('\x1b') == std::string::npos);
  CHECK(t.out.find("emoji \xf0\x9f\x99\x82") != std::string::npos);
  CHECK(t.out.find("only") == std::string::npos);  // --kind missing
  CHECK(t.out.find("6 differences") != std::string::npos);

  // Identical -> 0; unreadable store / unreachable server -> 2 with a message.
  target.pipeline(load);
  target.cmd({"DEL", "only\x01target"});
  CHECK(run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "-q"}).exit_code ==
        0);
  auto nostore = run_migcheck({"diffs", "--store", store + ".absent"});
  CHECK(nostore.exit_code == 2);
  CHECK_FALSE(nostore.err.empty());
  auto down = run_migcheck({"compare", source.uri(),
                            "redis://127.0.0.1:" + std::to_string(test::free_port()), "--store",
                            store, "-q", "--connect-timeout", "1s"});
  CHECK(down.exit_code == 2);
  CHECK(down.err.find("error") != std::string::npos);
  Store s(store, false);
  auto failed = s.latest_run("compare");
  REQUIRE(failed);
  CHECK(failed->status == "failed");
}

TEST_CASE("compare: a source reachable only as a read-only ACL user works",
          "[compare][integration]") {
  TestServer source(ServerOptions{.password = "admin-pw",
                                  .acl_users = {"reader on >reader-pw ~* +@read +info"},
                                  .enable_debug = false,
                                  .rename_away = {"CONFIG", "DEBUG"}});
  TestServer target;
  Cmds data = dataset(20, false);
  source.pipeline(data);
  target.pipeline(dataset(20, true));
  target.cmd({"HSET", "h:3", "a", "changed"});
  const std::string uri = "redis://reader:reader-pw@127.0.0.1:" + std::to_string(source.port());
  Store store(tmp_store("acl"));
  CompareOptions o = options(source, target);
  o.source = parse_uri(uri);
  CompareResult r = run_compare(o, store);
  CHECK(rows(store, r.run_id) == Rows{{"h:3", "value"}});
  CHECK(r.source_stats.errors == 0);
  auto run = store.run(r.run_id);
  REQUIRE(run);
  CHECK(run->source.find("reader-pw") == std::string::npos);
  CHECK(run->options_json.find("reader-pw") == std::string::npos);
  CHECK(run->source_info_json.find("CONFIG not allowed") != std::string::npos);

  // The CLI with the password from the environment.
  auto cli = run_migcheck({"compare", source.uri(), target.uri(), "--source-user", "reader",
                           "--store", tmp_store("acl-cli"), "--rounds", "1", "-q"},
                          {{"MIGCHECK_SOURCE_PASS", "reader-pw"}});
  INFO(cli.err);
  CHECK(cli.exit_code == 1);
}

TEST_CASE("compare: --match, --type, --db/--target-db, --no-target-scan and --sample",
          "[compare][integration]") {
  TestServer source;
  TestServer target;
  Cmds s{{"SELECT", "2"}}, t{{"SELECT", "5"}};
  for (int i = 0; i < 50; ++i) {
    const std::string k = std::to_string(i);
    s.push_back({"SET", "a:" + k, k});
    s.push_back({"HSET", "b:" + k, "f", k});
    if (i != 7) t.push_back({"SET", "a:" + k, k});
    t.push_back({"HSET", "b:" + k, "f", i == 9 ? "x" : k});
  }
  t.push_back({"SET", "a:extra", "1"});
  t.push_back({"HSET", "b:extra", "f", "1"});
  source.pipeline(s);
  target.pipeline(t);
  target.cmd({"SET", "db0-only", "not compared"});

  Store store(tmp_store("filters"));
  CompareOptions base = options(source, target);
  base.source.db = 2;
  base.target.db = 5;
  auto run = [&](auto tweak) {
    CompareOptions o = base;
    tweak(o);
    CompareResult r = run_compare(o, store);
    return std::make_pair(rows(store, r.run_id), r);
  };
  const Rows all = {
      {"a:7", "missing"}, {"b:9", "value"}, {"a:extra", "extra"}, {"b:extra", "extra"}};
  CHECK(run([](CompareOptions&) {}).first == all);
  CHECK(run([](CompareOptions& o) { o.match = "a:*"; }).first ==
        Rows{{"a:7", "missing"}, {"a:extra", "extra"}});
  CHECK(run([](CompareOptions& o) { o.types = {"hash"}; }).first ==
        Rows{{"b:9", "value"}, {"b:extra", "extra"}});
  auto [multi, multi_r] = run([](CompareOptions& o) { o.types = {"hash", "string"}; });
  CHECK(multi == all);
  CHECK(multi_r.keys_checked == 100);
  CHECK(run([](CompareOptions& o) { o.target_scan = false; }).first ==
        Rows{{"a:7", "missing"}, {"b:9", "value"}});
  auto [sampled, sampled_r] = run([](CompareOptions& o) { o.sample = 30; });
  CHECK(sampled_r.keys_checked == 30);
  for (const auto& row : sampled) CHECK(all.count(row) == 1);

  // The same mapping through the CLI flags.
  auto cli =
      run_migcheck({"compare", source.uri(), target.uri(), "--store", tmp_store("filters-cli"),
                    "--db", "2", "--target-db", "5", "--rounds", "1", "-q", "--type", "HASH"});
  INFO(cli.err);
  CHECK(cli.exit_code == 1);
}

TEST_CASE(
    "compare: keys expiring, vanishing and changing type during the run leave no false differences",
    "[compare][integration]") {
  TestServer source;
  TestServer target(ServerOptions{.binary = "valkey-server"});
  Cmds c;
  const int64_t base = now_ms();
  for (int i = 0; i < 1500; ++i) {
    const std::string k = std::to_string(i);
    c.push_back({"SET", "exp:" + k, "v", "PXAT", std::to_string(base + 200 + (i % 400))});
    c.push_back({"RPUSH", "churn:" + k, "a", "b"});
    c.push_back({"SET", "stable:" + k, k});
  }
  source.pipeline(c);
  target.pipeline(c);
  std::atomic<bool> stop_churn{false};
  std::thread churn([&] {
    // Type changes and deletions on both sides, one after the other (so the
    // sides disagree for a moment), until shortly after round 1.
    for (int n = 0; !stop_churn && n < 100000; ++n) {
      const std::string k = "churn:" + std::to_string(n % 1500);
      Cmds change = n % 3 == 0   ? Cmds{{"DEL", k}}
                    : n % 3 == 1 ? Cmds{{"DEL", k}, {"HSET", k, "f", std::to_string(n)}}
                                 : Cmds{{"DEL", k}, {"SADD", k, "x", std::to_string(n)}};
      source.pipeline(change);
      target.pipeline(change);
    }
  });
  Store store(tmp_store("churn"));
  CompareOptions o = options(source, target);
  o.rounds = 6;
  o.interval = Millis(300);
  o.batch = 50;
  CompareResult r;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    stop_churn = true;
  });
  CHECK_NOTHROW(r = run_compare(o, store));
  stopper.join();
  churn.join();
  CHECK(r.differences == 0);
  CHECK(r.exit_code == 0);
  CHECK(r.source_stats.errors == 0);
}

TEST_CASE("compare: --max-ops-per-sec caps the commands sent to the source",
          "[compare][integration]") {
  TestServer source;
  TestServer target;
  Cmds c;
  for (int i = 0; i < 300; ++i) c.push_back({"SET", "k:" + std::to_string(i), "v"});
  source.pipeline(c);
  target.pipeline(c);
  source.cmd({"CONFIG", "RESETSTAT"});
  Store store(tmp_store("rate"));
  CompareOptions o = options(source, target);
  o.max_ops_per_sec = 1000;
  const auto t0 = std::chrono::steady_clock::now();
  CompareResult r = run_compare(o, store);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(r.differences == 0);
  const int64_t calls = source.commands_called();
  CHECK(calls >= 900);  // TYPE, PTTL and GETRANGE per key
  // A bucket of a tenth of a second, then 1000 commands/s.
  CHECK(secs >= (static_cast<double>(calls) - 150) / 1000.0);
}

TEST_CASE("compare: a stop request ends the run as interrupted", "[compare][integration]") {
  TestServer source;
  TestServer target;
  source.cmd({"SET", "k", "v"});
  std::atomic<bool> stop{true};
  Store store(tmp_store("stop"));
  CompareOptions o = options(source, target);
  o.stop = &stop;
  CHECK_THROWS_AS(run_compare(o, store), Interrupted);
  auto run = store.latest_run("compare");
  REQUIRE(run);
  CHECK(run->status == "interrupted");
  CHECK(run->exit_code == 2);
}

TEST_CASE("compare: classify_key rules", "[compare]") {
  auto state = [](std::string type, int64_t pttl, int64_t at, uint64_t digest) {
    KeyState s;
    s.status = ReadStatus::Ok;
    s.exists = type != "none";
    s.type = value_type_from(type);
    s.type_name = type;
    s.pttl = pttl;
    s.expire_at_ms = at;
    s.digest = Digest128{digest, 1};
    return s;
  };
  auto kinds = [](const KeyState& s, const KeyState& t, Millis tol = Millis(1000)) {
    std::vector<Difference> out;
    classify_key("k", 0, 1, s, t, tol, out);
    std::string k;
    for (auto& d : out) k += (k.empty() ? "" : ",") + d.kind;
    return k;
  };
  CHECK(kinds(state("string", -1, 0, 1), state("string", -1, 0, 1)).empty());
  CHECK(kinds(state("string", -1, 0, 1), state("string", -1, 0, 2)) == "value");
  CHECK(kinds(state("string", 5000, 100000, 1), state("string", 4500, 100900, 1)).empty());
  CHECK(kinds(state("string", 5000, 100000, 1), state("string", 4500, 101100, 1)) == "ttl");
  CHECK(kinds(state("string", 5000, 100000, 1), state("string", -1, 0, 1), Millis(1 << 30)) ==
        "ttl");
  CHECK(kinds(state("string", 5000, 100000, 1), state("string", -1, 0, 2)) == "ttl,value");
  CHECK(kinds(state("hash", -1, 0, 1), state("string", 10, 10, 1)) == "type");
  CHECK(kinds(state("hash", -1, 0, 1), state("none", -2, 0, 0)) == "missing");
  CHECK(kinds(state("none", -2, 0, 0), state("set", -1, 0, 1)) == "extra");
  CHECK(kinds(state("none", -2, 0, 0), state("none", -2, 0, 0)).empty());
  KeyState unstable = state("list", -1, 0, 1);
  unstable.status = ReadStatus::Unstable;
  unstable.detail = "changed while read in chunks";
  std::vector<Difference> out;
  classify_key("k", 3, 2, unstable, state("list", -1, 0, 1), Millis(1000), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == "value");
  CHECK(out[0].db == 3);
  CHECK(out[0].round == 2);
  CHECK(out[0].detail.find("re-checked next round") != std::string::npos);
  KeyState refused = state("list", -1, 0, 1);
  refused.status = ReadStatus::Error;
  refused.detail = "LRANGE: NOPERM";
  out.clear();
  classify_key("k", 0, 1, refused, state("list", -1, 0, 1), Millis(1000), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].detail.find("NOPERM") != std::string::npos);
}

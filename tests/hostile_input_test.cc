// Hostile input, end to end: store files that are not ours, secrets that
// must never be written anywhere, targets that refuse writes (read-only
// replica, ACL without RESTORE or limited to a key pattern, RESTORE renamed
// away), key names no one should use, empty databases and expired keys not
// yet reclaimed.
#include "fault_fixture.h"

namespace t = migcheck::test;
namespace fs = std::filesystem;
using namespace migcheck::test::fault;
using t::run_migcheck;
using namespace std::string_literals;

TEST_CASE("fault: a store that is not ours is refused and left untouched", "[integration][fault]") {
  t::TestServer a, b;
  auto dir = temp_dir("store");
  fs::path junk = dir / "junk.db";
  std::ofstream(junk, std::ios::binary)
      << "this is not an SQLite file\n"s + std::string(5000, '\x07');
  const std::string before = slurp(junk);
  auto r = run_migcheck({"compare", a.uri(), b.uri(), "--store", junk.string(), "--quiet"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is not a migcheck store") != std::string::npos);
  CHECK(slurp(junk) == before);
  for (const char* cmd : {"diffs", "report"}) {
    auto d = run_migcheck({cmd, "--store", junk.string()});
    CHECK(d.exit_code == 2);
    CHECK(slurp(junk) == before);
  }
  auto missing = run_migcheck({"diffs", "--store", (dir / "nope.db").string()});
  CHECK(missing.exit_code == 2);
  CHECK_FALSE(fs::exists(dir / "nope.db"));
  auto unwritable =
      run_migcheck({"compare", a.uri(), b.uri(), "--store", "/proc/migcheck.db", "--quiet"});
  CHECK(unwritable.exit_code == 2);
  CHECK(std::count(unwritable.err.begin(), unwritable.err.end(), '\n') == 1);
}

TEST_CASE("fault: passwords never reach output, store, reports or the process title",
          "[integration][fault]") {
  const std::string secret = "Zq9-very-secret-pw";
  t::TestServer source(t::ServerOptions{.password = secret});
  t::TestServer target(t::ServerOptions{.acl_users = {"mover on >" + secret + " ~* +@all"}});
  load(source, 300);
  load(target, 300);
  target.cmd({"DEL", "s:3"});
  auto dir = temp_dir("secrets");
  const std::string store = (dir / "s.db").string();
  std::string src = "redis://:" + secret + "@127.0.0.1:" + std::to_string(source.port());
  std::string dst = "redis://127.0.0.1:" + std::to_string(target.port());

  // While compare runs, its /proc/PID/cmdline must not show the password.
  std::string cmdline_seen;
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"compare", src, dst, "--target-user", "mover", "--target-pass", secret,
                         "--store", store, "--rounds", "3", "--interval", "700ms"});
  });
  for (int i = 0; i < 40 && cmdline_seen.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (auto& e : fs::directory_iterator("/proc")) {
      std::string c = slurp(e.path() / "cmdline");
      if (c.find("compare") != std::string::npos && c.find(store) != std::string::npos)
        cmdline_seen = c;
    }
  }
  auto r = run.get();
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  CHECK_FALSE(cmdline_seen.empty());
  CHECK(cmdline_seen.find(secret) == std::string::npos);

  std::string everything = r.out + r.err;
  auto repair = run_migcheck({"repair", src, dst, "--target-user", "mover", "--store", store},
                             {{"MIGCHECK_TARGET_PASS", secret}});
  everything += repair.out + repair.err;
  auto bad = run_migcheck(
      {"compare", "redis://:wrong-" + secret + "@127.0.0.1:" + std::to_string(source.port()), dst,
       "--store", store});
  CHECK(bad.exit_code == 2);
  everything += bad.out + bad.err;
  auto rep = run_migcheck({"report", "--store", store, "--out", dir.string()});
  everything += rep.out + rep.err;
  auto diffs = run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  everything += diffs.out + diffs.err;
  // Debug logging, a copy with its verifying compare, info, and URIs that
  // are refused: none of them says the password either.
  auto rep2 = run_migcheck(
      {"replicate", src, dst, "--target-user", "mover", "--store", store, "--verify", "--verbose"},
      {{"MIGCHECK_TARGET_PASS", secret}});
  CHECK(rep2.exit_code == 0);
  everything += rep2.out + rep2.err;
  auto info = run_migcheck({"info", src, "--json", "--verbose"});
  CHECK(info.exit_code == 0);
  everything += info.out + info.err;
  for (const std::string& uri :
       {"redis://:" + secret + "@127.0.0.1:99999", "redis://:" + secret + "@[::1",
        "redis://user:" + secret + "@127.0.0.1:" + std::to_string(source.port()) + "/x",
        "rediss://:" + secret + "@127.0.0.1:" + std::to_string(source.port())}) {
    auto refused = run_migcheck({"compare", uri, dst, "--store", store, "--connect-timeout", "1s"});
    CHECK(refused.exit_code == 2);
    everything += refused.out + refused.err;
  }
  // A command line that does not parse is quoted back: without the password.
  auto extra = run_migcheck({"compare", src, dst, src, "--target-pass=" + secret});
  CHECK(extra.exit_code == 2);
  CHECK(extra.err.find("not expected") != std::string::npos);
  everything += extra.out + extra.err;
  for (auto& e : fs::directory_iterator(dir)) everything += slurp(e.path());
  CHECK(everything.find(secret) == std::string::npos);
}

// ---------------------------------------------------------------------------
// Targets that refuse writes.

TEST_CASE(
    "fault: a target that is a read-only replica: per-key READONLY outcomes, the run completes, "
    "exit 1",
    "[integration][fault]") {
  t::TestServer source, target;
  t::TestServer primary(t::ServerOptions{.config = {{"repl-diskless-sync-delay", "0"}}});
  Cmds load;
  for (int i = 0; i < 200; ++i) {
    const std::string n = std::to_string(i);
    load.push_back({"SET", "ro:" + n, "v" + n});
    if (i % 10 == 0) load.push_back({"HSET", "roh:" + n, "f", n});
  }
  load.push_back({"SET", "ro:big", std::string(3 << 20, 'b')});  // copied in chunks: a temp key
  source.pipeline(load);
  primary.pipeline({{"SET", "ro:0", "stale"}, {"SET", "only-target", "x"}});
  target.cmd({"REPLICAOF", "127.0.0.1", std::to_string(primary.port())});
  wait_replica_up(target);
  REQUIRE(target.cmd({"GET", "ro:0"}) == "stale");
  const auto keys = keys_of(source);
  REQUIRE(keys.size() == 221);
  const fs::path store = temp_dir("readonly") / "s.db";

  for (bool structural : {false, true}) {
    INFO("--struct " << structural);
    std::vector<std::string> args = {"replicate", source.uri(),   target.uri(),
                                     "--store",   store.string(), "--quiet"};
    if (structural) args.push_back("--struct");
    auto r = run_migcheck(args);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    auto run = last_run(store, "replicate");
    CHECK(run.status == "done");
    CHECK(run.exit_code == 1);
    auto tot = nlohmann::json::parse(run.totals_json);
    CHECK(tot["failed"] == keys.size());
    CHECK(tot["copied"] == 0);
    CHECK(tot["interrupted"] == false);
    auto o = outcomes_of(store, run.id);
    CHECK(o.size() == keys.size());
    for (const auto& k : keys) {
      INFO(k);
      REQUIRE(o.count(k) == 1);
      CHECK(o[k].outcome == migcheck::Outcome::Result::Failed);
      CHECK(o[k].error.starts_with("READONLY"));
    }
  }
  CHECK(target.cmd({"DBSIZE"}) == "2");  // no temporary key left, nothing written

  // repair after a compare: the same, for copies and deletes alike.
  auto c = run_migcheck({"compare", source.uri(), target.uri(), "--store", store.string(),
                         "--rounds", "1", "--quiet"});
  INFO(c.err);
  REQUIRE(c.exit_code == 1);
  auto r = run_migcheck(
      {"repair", source.uri(), target.uri(), "--store", store.string(), "--delete-extra"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("READONLY") != std::string::npos);
  auto run = last_run(store, "repair");
  CHECK(run.status == "done");
  CHECK(run.exit_code == 1);
  auto o = outcomes_of(store, run.id);
  CHECK(o.size() == keys.size() + 1);
  for (const auto& [k, v] : o) {
    INFO(k << ": " << v.action << " " << v.outcome);
    CHECK(v.outcome == migcheck::Outcome::Result::Failed);
    CHECK(v.error.starts_with("READONLY"));
  }
  CHECK(o["only-target"].action == migcheck::Outcome::Action::Delete);
  CHECK(nlohmann::json::parse(run.totals_json)["failed"] == keys.size() + 1);
  CHECK(target.cmd({"DBSIZE"}) == "2");
}

TEST_CASE("fault: an ACL user that may not RESTORE: every key is written by type, exactly",
          "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(t::ServerOptions{.acl_users = {"mover on >mover-pw ~* +@all -restore"}});
  check_copied_by_type(source, target, temp_dir("acl-restore"), {"--target-user", "mover"},
                       {{"MIGCHECK_TARGET_PASS", "mover-pw"}});
}

TEST_CASE("fault: a target with RESTORE renamed away: every key is written by type, exactly",
          "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(t::ServerOptions{.rename_away = {"RESTORE"}});
  check_copied_by_type(source, target, temp_dir("renamed"), {}, {});
}

TEST_CASE(
    "fault: an ACL user limited to a key pattern: keys outside fail with NOPERM, the rest is "
    "copied",
    "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(t::ServerOptions{.acl_users = {"mover on >mover-pw ~allowed:* +@all"}});
  Cmds load;
  std::vector<std::string> allowed, denied;
  for (int i = 0; i < 100; ++i) {
    allowed.push_back("allowed:" + std::to_string(i));
    load.push_back({"SET", allowed.back(), std::to_string(i)});
    if (i % 10 == 0) {
      allowed.push_back("allowed:z" + std::to_string(i));
      load.push_back({"ZADD", allowed.back(), "1.5", "a", std::to_string(i), "b"});
    }
  }
  for (int i = 0; i < 40; ++i) {
    denied.push_back("other:" + std::to_string(i));
    load.push_back({"HSET", denied.back(), "f", std::to_string(i)});
  }
  denied.push_back("big:denied");
  load.push_back({"SET", "big:denied", std::string(3 << 20, 'd')});  // in chunks
  // A big value is built in a temporary key "{allowed:big}migcheck:tmp:..."
  // that the pattern does not cover: see the end of the test.
  load.push_back({"RPUSH", "allowed:big", std::string(600000, 'x'), std::string(600000, 'y')});
  source.pipeline(load);
  const fs::path store = temp_dir("acl-pattern") / "s.db";
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--target-user", "mover",
                         "--store", store.string(), "--quiet"},
                        {{"MIGCHECK_TARGET_PASS", "mover-pw"}});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  auto run = last_run(store, "replicate");
  CHECK(run.status == "done");
  CHECK(run.exit_code == 1);
  auto o = outcomes_of(store, run.id);
  for (const auto& k : denied) {
    INFO(k);
    REQUIRE(o.count(k) == 1);
    CHECK(o[k].outcome == migcheck::Outcome::Result::Failed);
    CHECK(o[k].error.starts_with("NOPERM"));
    CHECK(target.cmd({"EXISTS", k}) == "0");
  }
  for (const auto& k : allowed) {
    INFO(k);
    CHECK(o.count(k) == 0);
    CHECK(source.debug_digest_value(k) == target.debug_digest_value(k));
  }
  // allowed:big: copied, or (as now) a failure that says why; never silent.
  const bool big_copied = o.count("allowed:big") == 0;
  if (big_copied) {
    CHECK(source.debug_digest_value("allowed:big") == target.debug_digest_value("allowed:big"));
  } else {
    CHECK(o["allowed:big"].outcome == migcheck::Outcome::Result::Failed);
    CHECK(o["allowed:big"].error.starts_with("NOPERM"));
  }
  auto tot = nlohmann::json::parse(run.totals_json);
  CHECK(tot["copied"] == allowed.size() + (big_copied ? 1 : 0));
  CHECK(tot["failed"] == denied.size() + (big_copied ? 0 : 1));
  CHECK(o.size() == denied.size() + (big_copied ? 0 : 1));
  // No temporary key left behind.
  CHECK(target.cmd({"DBSIZE"}) == std::to_string(allowed.size() + (big_copied ? 1 : 0)));
}

// ---------------------------------------------------------------------------
// Hostile and odd input.

TEST_CASE("fault: hostile key names: exact differences, copied, escaped in the reports",
          "[integration][fault]") {
  t::TestServer source, target;
  const std::string nul = "nul\0in\0side"s, lf = "line\nfeed", cr = "carriage\rreturn",
                    resp = "*3\r\n$3\r\nDEL\r\n$1\r\nx\r\n", bad = "bad\xc3\x28utf8\xff"s,
                    empty = "", html = "<b>\"quoted\" & 'single'</b>",
                    ctl = "bell\x07tab\tdel\x7f esc\x1b[2J",
                    long_missing = std::string(10 * 1024, 'L') + "\xfe\0end"s,
                    long_same = std::string(10 * 1024, 'M'), extra = "extra\0\r\n\xff"s;
  Cmds common = {{"SADD", bad, "a", "b\0"s},  // identical on both sides
                 {"SET", long_same, "same"},
                 {"SET", ctl, "same"}};
  for (int i = 0; i < 50; ++i) common.push_back({"SET", "plain:" + std::to_string(i), "v"});
  source.pipeline(common);
  target.pipeline(common);
  source.pipeline({{"SET", nul, "v"},  // missing
                   {"HSET", lf, "f", "source"},
                   {"SET", cr, "v", "PX", "600000"},
                   {"RPUSH", resp, "a", "b"},
                   {"SET", empty, "empty name"},
                   {"ZADD", long_missing, "1", "m"},
                   {"XADD", html, "1-1", "f", "v"}});
  target.pipeline({{"HSET", lf, "f", "target"},  // value
                   {"SET", cr, "v"},             // ttl
                   {"SET", resp, "not a list"},  // type
                   {"SET", empty, "other"},      // value
                   {"SET", extra, "x"}});        // extra
  const Kinds expected = {{nul, "missing"},  {lf, "value"},    {cr, "ttl"},
                          {resp, "type"},    {empty, "value"}, {long_missing, "missing"},
                          {html, "missing"}, {extra, "extra"}};
  const fs::path dir = temp_dir("hostile");
  const std::string store = (dir / "s.db").string();

  auto c = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"});
  INFO(c.out << c.err);
  REQUIRE(c.exit_code == 1);
  const auto compare_run = last_run(store, "compare");
  CHECK(differences_of(store, compare_run.id) == expected);

  // JSON: every key, byte for byte (text, or base64 when not UTF-8).
  auto j = run_migcheck({"report", "--store", store, "--format", "json", "--out", "-"});
  INFO(j.err);
  CHECK(j.exit_code == 1);
  CHECK(migcheck::is_valid_utf8(j.out));
  CHECK(j.out.find('\0') == std::string::npos);
  CHECK(j.out.find('\r') == std::string::npos);
  auto report = nlohmann::json::parse(j.out);
  Kinds in_json;
  for (const auto& item : report["samples"]["items"]) {
    std::string key;
    if (item.contains("key")) {
      key = item["key"].get<std::string>();
    } else {
      auto decoded = migcheck::base64_decode(item["key_base64"].get<std::string>());
      REQUIRE(decoded);
      key = *decoded;
    }
    in_json.insert({key, item["kind"].get<std::string>()});
  }
  CHECK(in_json == expected);

  // HTML: the keys as escaped text only, the page valid UTF-8.
  const fs::path page = dir / "r.html";
  auto h = run_migcheck({"report", "--store", store, "--format", "html", "--out", page.string()});
  INFO(h.err);
  CHECK(h.exit_code == 1);
  const std::string text = slurp(page);
  CHECK(migcheck::is_valid_utf8(text));
  for (char ch : {'\0', '\r', '\x07', '\x1b', '\x7f'}) {
    INFO("byte " << static_cast<int>(ch));
    CHECK(text.find(ch) == std::string::npos);
  }
  for (const auto& [k, kind] : expected) {
    INFO(shown(k));
    if (!k.empty()) CHECK(text.find(k) == std::string::npos);
    CHECK(text.find(migcheck::html_bytes(k)) != std::string::npos);
  }
  CHECK(text.find("<b>") == std::string::npos);

  // replicate copies them all; only the extra key is left to tell apart.
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store, "--quiet"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto rep = nlohmann::json::parse(last_run(store, "replicate").totals_json);
  CHECK(rep["copied"] == keys_of(source).size());
  target.cmd({"DEL", extra});
  check_identical(source, target);
  c = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
}

TEST_CASE("fault: an empty source and an empty target", "[integration][fault]") {
  t::TestServer source, target;
  const fs::path dir = temp_dir("empty");
  const std::string store = (dir / "s.db").string();
  auto c = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--quiet"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  auto run = last_run(store, "compare");
  CHECK(run.status == "done");
  CHECK(differences_of(store, run.id).empty());
  auto r = run_migcheck(
      {"replicate", source.uri(), target.uri(), "--store", store, "--verify", "--quiet"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto tot = nlohmann::json::parse(last_run(store, "replicate").totals_json);
  CHECK(tot["keys_scanned"] == 0);
  CHECK(tot["copied"] == 0);
  CHECK(tot["failed"] == 0);
  CHECK(target.cmd({"DBSIZE"}) == "0");
}

TEST_CASE("fault: 100k keys expired but not reclaimed are neither differences nor copied",
          "[integration][fault]") {
  t::TestServer source, target;
  const fs::path dir = temp_dir("expired");
  const std::string store = (dir / "s.db").string();
  // With active expiry off, expired keys stay until something touches them.
  auto plant = [&] {
    source.cmd({"DEBUG", "SET-ACTIVE-EXPIRE", "0"});
    Cmds load;
    for (int i = 0; i < 100000; ++i)
      load.push_back({"SET", "gone:" + std::to_string(i), "v", "PX", "1"});
    source.pipeline(load);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(source.cmd({"DBSIZE"}) == "100000");
  };
  const auto t0 = std::chrono::steady_clock::now();
  plant();
  auto c = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--quiet"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  auto run = last_run(store, "compare");
  CHECK(differences_of(store, run.id).empty());

  plant();
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store, "--quiet"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto tot = nlohmann::json::parse(last_run(store, "replicate").totals_json);
  CHECK(tot["copied"] == 0);
  CHECK(tot["failed"] == 0);
  CHECK(target.cmd({"DBSIZE"}) == "0");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
}

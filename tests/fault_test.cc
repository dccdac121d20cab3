// Server faults, end to end: a target killed and restarted mid-compare,
// mid-replicate and mid-repair, source restarts, connections cut (also after
// a write was applied), a target that fills up, a full disk under the store,
// and values bigger than migcheck may hold in memory.
#include "fault_fixture.h"

namespace t = migcheck::test;
namespace fs = std::filesystem;
using namespace migcheck::test::fault;
using t::run_migcheck;
using namespace std::string_literals;

TEST_CASE("fault: target killed and restarted mid-compare gives the undisturbed result",
          "[integration][fault]") {
  Drifted d;
  REQUIRE(d.expected.size() == 8);
  const fs::path store = temp_dir("compare-kill") / "s.db";
  // Slow enough (--max-ops-per-sec) that the kill lands mid-run.
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"compare", d.source.uri(), d.target.uri(), "--store", store.string(),
                         "--rounds", "1", "--max-ops-per-sec", "40000", "--retry-for", "20s",
                         "--quiet"});
  });
  kill9_mid_run(d.target);
  auto r = run.get();
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("reconnecting") != std::string::npos);  // the kill did land mid-run
  // A restarted server has new SCAN cursors (and maybe lost writes): the
  // compare noticed it and started over, so nothing is skipped or doubled.
  CHECK(r.err.find("its run_id changed") != std::string::npos);
  CHECK(r.err.find("the compare starts over at round 1") != std::string::npos);
  const auto rec = d.check_compare(store);
  CHECK(nlohmann::json::parse(rec.totals_json)["starts_over"] == 1);
}

TEST_CASE("fault: a compare resumed after the target restarted starts over, exactly",
          "[integration][fault][resume]") {
  Drifted d;
  auto dir = temp_dir("resume-restart");
  const fs::path store = dir / "s.db";
  const auto cp = interrupt_past_checkpoint({"compare", d.source.uri(), d.target.uri(), "--rounds",
                                             "1", "--max-ops-per-sec", "20000", "--quiet"},
                                            store, "compare");
  REQUIRE(cp.value("keys_checked", int64_t{0}) > 0);  // stopped mid-way through round 1
  REQUIRE(cp["run_ids"].size() == 2);
  d.target.stop();  // SHUTDOWN: the AOF is complete; a new process, a new hash seed
  d.target.restart();
  auto r = run_migcheck(
      {"compare", "--resume", "1", d.source.uri(), d.target.uri(), "--store", store.string()});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("the compare starts over at round 1") != std::string::npos);
  d.check_compare(store);
}

TEST_CASE("fault: connections killed mid-compare change nothing", "[integration][fault]") {
  Drifted d;
  const fs::path store = temp_dir("client-kill") / "s.db";
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"compare", d.source.uri(), d.target.uri(), "--store", store.string(),
                         "--rounds", "1", "--max-ops-per-sec", "40000", "--quiet"});
  });
  wait_for_migcheck(d.target);
  int killed = 0;
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    // Every client but this one: migcheck's readers, scanners and its
    // connections for the target scan, on both sides.
    killed += std::stoi(d.source.cmd({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}));
    killed += std::stoi(d.target.cmd({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}));
  }
  auto r = run.get();
  INFO(r.err);
  CHECK(killed > 0);
  CHECK(r.exit_code == 1);
  // Reconnected to the same server processes: nothing to start over.
  CHECK(nlohmann::json::parse(d.check_compare(store).totals_json)["starts_over"] == 0);
}

TEST_CASE("fault: target killed and restarted mid-replicate still converges",
          "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(durable());
  load(source, 20000);
  source.pipeline(mixed());  // every type, binary names, a big value in chunks
  auto dir = temp_dir("replicate-kill");
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"replicate", source.uri(), target.uri(), "--store",
                         (dir / "s.db").string(), "--max-ops-per-sec", "40000", "--retry-for",
                         "20s", "--quiet"});
  });
  kill9_mid_run(target);
  auto r = run.get();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("reconnecting") != std::string::npos);
  // Writes acknowledged before the kill may be lost (appendfsync always
  // keeps them here, but no tool can count on it): the pass started over.
  CHECK(r.err.find("the pass starts over from the beginning") != std::string::npos);
  auto tot = nlohmann::json::parse(last_run(dir / "s.db", "replicate").totals_json);
  CHECK(tot["starts_over"] == 1);
  CHECK(tot["copied"] == keys_of(source).size());  // each key counted once
  CHECK(tot["keys_scanned"] == keys_of(source).size());
  CHECK(tot["failed"] == 0);
  check_identical(source, target);
}

TEST_CASE(
    "fault: a 64 MB string and a 1M-element list are copied and compared exactly, in bounded "
    "memory",
    "[integration][fault]") {
  t::TestServer source, target;
  const fs::path dir = temp_dir("big");
  const std::string store = (dir / "s.db").string();
  constexpr long kStringBytes = 64L << 20;
  // Random bytes: a payload LZF cannot shrink, as real data often is.
  std::string value(kStringBytes, '\0');
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= value.size(); i += 8) {
    const uint64_t v = rng();
    std::memcpy(value.data() + i, &v, 8);
  }
  source.pipeline({{"SET", "big:string", value}});
  value = {};
  for (int i = 0; i < 1000000; i += 10000) {
    std::vector<std::string> cmd = {"RPUSH", "big:list"};
    for (int j = i; j < i + 10000; ++j) cmd.push_back(std::to_string(j));
    source.pipeline({cmd});
  }
  source.pipeline({{"PEXPIRE", "big:list", "3600000"}, {"SET", "small", "v"}});
  REQUIRE(source.cmd({"LLEN", "big:list"}) == "1000000");

  auto r =
      run_measured({"replicate", source.uri(), target.uri(), "--store", store, "--quiet"}, dir);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto tot = nlohmann::json::parse(last_run(store, "replicate").totals_json);
  CHECK(tot["copied"] == 3);
  CHECK(tot["chunked"] == 2);
  for (const char* k : {"big:string", "big:list", "small"}) {
    INFO(k);
    CHECK(source.debug_digest_value(k) == target.debug_digest_value(k));
  }
  CHECK(std::llabs(std::stoll(source.cmd({"PEXPIRETIME", "big:list"})) -
                   std::stoll(target.cmd({"PEXPIRETIME", "big:list"}))) <= 2);
  CHECK(target.cmd({"DBSIZE"}) == "3");  // no temporary key left

  auto c = run_measured(
      {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"}, dir);
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  // Neither command held a whole value: their peak RSS stays far below 64 MB.
  INFO("peak RSS replicate " << r.max_rss_kb << " KiB, compare " << c.max_rss_kb << " KiB");
  CHECK(r.max_rss_kb > 0);
  CHECK(r.max_rss_kb < kStringBytes / 1024 / 2);
  CHECK(c.max_rss_kb > 0);
  CHECK(c.max_rss_kb < kStringBytes / 1024 / 2);

  // One changed byte in the middle of the string is found.
  source.cmd({"SETRANGE", "big:string", std::to_string(kStringBytes / 2), "X"});
  c = run_measured(
      {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"}, dir);
  CHECK(c.exit_code == 1);
  CHECK(differences_of(store, last_run(store, "compare").id) == Kinds{{"big:string", "value"}});
}

TEST_CASE("fault: target connections cut after a write was applied: every key copied exactly once",
          "[integration][fault]") {
  t::TestServer source, target;
  t::FaultProxy proxy(target.port());
  Cmds load = mixed();
  std::vector<std::string> big_list{"RPUSH", "big:list"};
  for (int i = 0; i < 5000; ++i) big_list.push_back("element-" + std::to_string(i));
  load.push_back(big_list);
  for (int i = 0; i < 40; ++i)
    load.push_back({"RPUSH", "list:" + std::to_string(i), "x", "y", std::to_string(i)});
  source.pipeline(load);
  const fs::path dir = temp_dir("cut");
  const std::string store = (dir / "s.db").string();
  // Each trigger is a write that sending twice would corrupt (RPUSH, APPEND,
  // XADD) or that must be redone whole (RESTORE, RENAME).
  // Pass::Chunk applies a pipeline in part, Pass::All whole, replies lost.
  struct Case {
    std::string trigger;
    bool structural;
    t::FaultProxy::Pass pass;
  };
  using P = t::FaultProxy::Pass;
  for (const Case& c :
       {Case{"RPUSH", true, P::Chunk}, Case{"RPUSH", true, P::All}, Case{"APPEND", false, P::Chunk},
        Case{"APPEND", false, P::All}, Case{"XADD", true, P::Chunk}, Case{"XADD", true, P::All},
        Case{"RESTORE", false, P::Chunk}, Case{"RESTORE", false, P::All},
        Case{"RENAME", true, P::Chunk}, Case{"RENAME", true, P::All}}) {
    INFO("cut after " << c.trigger << (c.structural ? " (--struct)" : "")
                      << (c.pass == P::All ? ", all of the pipeline applied" : ", part of it"));
    target.cmd({"FLUSHALL"});
    const int cuts_before = proxy.cuts();
    proxy.cut_after(c.trigger, 2, c.pass);
    std::vector<std::string> args = {"replicate", source.uri(), proxy.uri(),
                                     "--store",   store,        "--quiet"};
    if (c.structural) args.push_back("--struct");
    auto r = run_migcheck(args);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(proxy.cuts() - cuts_before == 2);
    auto tot = nlohmann::json::parse(last_run(store, "replicate").totals_json);
    CHECK(tot["copied"] == keys_of(source).size());
    CHECK(tot["failed"] == 0);
    check_identical(source, target);
    CHECK(target.cmd({"DBSIZE"}) == std::to_string(keys_of(source).size()));  // no temporary key
  }

  // Reads are sent again: a compare through cut connections is exact.
  target.cmd({"DEL", "list:7"});
  proxy.cut_after("TYPE", 3);
  auto c = run_migcheck(
      {"compare", proxy.uri(), source.uri(), "--store", store, "--rounds", "1", "--quiet"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 1);
  CHECK(differences_of(store, last_run(store, "compare").id) == Kinds{{"list:7", "extra"}});
}

TEST_CASE("fault: a replicate resumed after the source restarted starts the pass over, exactly",
          "[integration][fault][resume]") {
  t::TestServer source(durable());
  t::TestServer target;
  load(source, 20000);
  auto dir = temp_dir("replicate-resume-restart");
  const fs::path store = dir / "s.db";
  const auto cp = interrupt_past_checkpoint(
      {"replicate", source.uri(), target.uri(), "--max-ops-per-sec", "10000", "--quiet"}, store,
      "replicate");
  REQUIRE(cp.value("keys_scanned", int64_t{0}) > 0);
  REQUIRE(cp["run_ids"].size() == 2);
  source.stop();
  source.restart();  // the same keys, in a new process: its SCAN cursors mean other buckets
  auto r = run_migcheck(
      {"replicate", "--resume", "1", source.uri(), target.uri(), "--store", store.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("the pass starts over from the beginning") != std::string::npos);
  auto tot = nlohmann::json::parse(last_run(store, "replicate").totals_json);
  CHECK(tot["starts_over"] == 1);
  CHECK(tot["copied"] == keys_of(source).size());
  CHECK(tot["keys_scanned"] == keys_of(source).size());
  check_identical(source, target);
}

TEST_CASE("fault: a full disk under the store: one line, exit 2, the store intact and resumable",
          "[integration][fault]") {
  const fs::path dir = temp_dir("full-disk");
  const fs::path tiny = dir / "tiny";
  fs::create_directories(tiny);
  // A real file system that fills up: a 256 KiB tmpfs (root only).
  if (::mount("tmpfs", tiny.c_str(), "tmpfs", 0, "size=256k") != 0)
    SKIP("cannot mount a tmpfs here (" << std::strerror(errno) << ")");
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{tiny};
  t::TestServer source, target;
  Cmds load;
  for (int i = 0; i < 6000; ++i)
    load.push_back({"SET", "missing:" + std::to_string(i) + std::string(40, 'k'), "v"});
  source.pipeline(load);
  const fs::path store = tiny / "s.db";
  auto r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store.string(),
                         "--rounds", "1", "--quiet"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("error: cannot write store " + store.string() +
                   ": database or disk is full\n") != std::string::npos);
  CHECK(r.err.find("internal error") == std::string::npos);
  {
    migcheck::Store s(store.string(), false);
    auto run = s.run(1);
    REQUIRE(run);
    CHECK(run->status == "failed");
    // Every row stored is whole: none half-written or moved-from.
    s.for_each_difference(1, {}, [](const migcheck::Difference& d) {
      CHECK(d.kind == "missing");
      CHECK(d.key.starts_with("missing:"));
    });
  }
  // Moved to a disk with room, it resumes and ends as a run on a roomy disk would.
  for (const char* suffix : {"", "-wal"})
    if (fs::exists(store.string() + suffix))
      fs::copy_file(store.string() + suffix, (dir / "s.db").string() + suffix);
  auto resumed = run_migcheck({"compare", "--resume", "1", source.uri(), target.uri(), "--store",
                               (dir / "s.db").string(), "--quiet"});
  INFO(resumed.err);
  CHECK(resumed.exit_code == 1);
  Kinds expected;
  for (const auto& k : keys_of(source)) expected.insert({k, "missing"});
  CHECK(differences_of(dir / "s.db", 1) == expected);
}

TEST_CASE("fault: target killed and restarted mid-repair: every difference repaired again, once",
          "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(durable());
  load(source, 20000);
  load(target, 20000);
  Cmds changed;
  for (int i = 0; i < 20000; i += 3) changed.push_back({"SET", "s:" + std::to_string(i), "old"});
  target.pipeline(changed);
  auto dir = temp_dir("repair-kill");
  const std::string store = (dir / "s.db").string();
  auto c = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"});
  REQUIRE(c.exit_code == 1);
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"repair", source.uri(), target.uri(), "--store", store,
                         "--max-ops-per-sec", "8000", "--retry-for", "20s", "--quiet"});
  });
  kill9_mid_run(target);
  auto r = run.get();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("every selected difference is repaired again") != std::string::npos);
  auto tot = nlohmann::json::parse(last_run(store, "repair").totals_json);
  CHECK(tot["starts_over"] == 1);
  CHECK(tot["selected"] == changed.size());
  CHECK(tot["repaired"] == changed.size());
  CHECK(tot["failed"] == 0);
  check_identical(source, target);
}

TEST_CASE("fault: a target that fills up mid-replicate: OOM per key, the run completes, exit 1",
          "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(t::ServerOptions{.maxmemory = "4mb"});
  Cmds load = t::letter_values("k:", 6000, 1000);
  load.push_back({"SET", "big:string", std::string(3 << 20, 'b')});  // in chunks
  source.pipeline(load);
  const fs::path store = temp_dir("oom") / "s.db";
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("OOM command not allowed") != std::string::npos);  // in the summary
  const auto run = last_run(store, "replicate");
  CHECK(run.status == "done");
  auto tot = nlohmann::json::parse(run.totals_json);
  const int64_t copied = tot["copied"], failed = tot["failed"];
  CHECK(copied > 0);
  CHECK(failed > 0);
  CHECK(copied + failed == static_cast<int64_t>(load.size()));
  auto o = outcomes_of(store, run.id);
  CHECK(static_cast<int64_t>(o.size()) == failed);
  for (const auto& [k, v] : o) {
    INFO(shown(k));
    CHECK(v.outcome == migcheck::Outcome::Result::Failed);
    CHECK(v.error.starts_with("OOM command not allowed"));
  }
  // Every key copied is whole, and no temporary key is left behind.
  CHECK(target.cmd({"DBSIZE"}) == std::to_string(copied));
  std::vector<std::string> on_target = keys_of(target);
  auto sf = facts_of(source, on_target), tf = facts_of(target, on_target);
  for (const auto& k : on_target) {
    INFO(shown(k));
    CHECK(sf[k] == tf[k]);
  }
}

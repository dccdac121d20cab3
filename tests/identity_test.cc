// Server identity (src/identity.cc): the sameness rules on recorded
// identities, and end to end against real servers: one server under two
// names (127.0.0.1 and localhost, a unix socket and its TCP port) refused by
// compare, replicate and repair before anything runs; repair --run N and
// --resume against servers other than the run's refused; a repair of a
// failed or interrupted compare refused with a resume hint.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "identity.h"
#include "report_fixture.h"
#include "server_fixture.h"
#include "store.h"

using Catch::Matchers::ContainsSubstring;
using namespace migcheck;
using namespace migcheck::test;

namespace {

ServerIdentity ident(std::vector<std::string> run_ids, std::vector<std::string> addresses,
                     size_t nodes = 1) {
  ServerIdentity id;
  id.run_ids = std::move(run_ids);
  id.addresses = std::move(addresses);
  id.nodes = nodes;
  return id;
}

std::vector<std::vector<std::string>> some_keys(int n, const std::string& value = "v") {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < n; ++i) cmds.push_back({"SET", "k:" + std::to_string(i), value});
  return cmds;
}

std::string localhost_uri(const TestServer& s) {
  return "redis://localhost:" + std::to_string(s.port());
}

size_t runs_in(const std::string& store) {
  if (!std::filesystem::exists(store)) return 0;
  Store s(store, false);
  return s.runs().size();
}

}  // namespace

TEST_CASE("identity: sameness by run_id, node id, then address", "[identity]") {
  auto a = ident({"r1"}, {"127.0.0.1:7000"});
  auto b = ident({"r2"}, {"127.0.0.1:7000"});
  CHECK(same_server(a, a) == Sameness::kSame);
  // Both run_ids known and different: two processes, whatever the address.
  CHECK(same_server(a, b) == Sameness::kDifferent);
  auto blind = ident({}, {"127.0.0.1:7000"});
  blind.gaps = {"INFO refused"};
  CHECK(same_server(a, blind) == Sameness::kSame);  // the address is all there is
  auto far = ident({}, {"10.0.0.9:7000"});
  CHECK(same_server(a, far) == Sameness::kUnknown);
  ServerIdentity c1, c2;
  c1.node_ids = {"n1", "n2"};
  c2.node_ids = {"n2", "n3"};
  c1.nodes = c2.nodes = 2;
  CHECK(same_server(c1, c2) == Sameness::kSame);

  auto round_trip = identity_from_json(to_json(blind));
  CHECK(round_trip.run_ids.empty());
  CHECK(round_trip.addresses == blind.addresses);
  CHECK(round_trip.gaps == blind.gaps);
  CHECK(round_trip.nodes == 1);
}

TEST_CASE("identity: localhost and 127.0.0.1 resolve to a common address", "[identity]") {
  Endpoint a = parse_uri("redis://127.0.0.1:6390"), b = parse_uri("redis://localhost:6390");
  auto ra = resolved_addresses(a), rb = resolved_addresses(b);
  CHECK(std::find(rb.begin(), rb.end(), "127.0.0.1:6390") != rb.end());
  CHECK(ra == std::vector<std::string>{"127.0.0.1:6390"});
}

TEST_CASE("identity: one server under two names is refused by every command",
          "[identity][integration]") {
  TestServer server(ServerOptions{.unix_socket = true});
  server.pipeline(some_keys(20));
  ReportTempDir dir;
  const std::string store = dir.file("m.db");
  const std::string ip = server.uri(), name = localhost_uri(server),
                    sock = "unix://" + server.unix_path();

  for (const auto& [src, tgt] :
       std::vector<std::pair<std::string, std::string>>{{ip, name}, {sock, ip}, {name, sock}}) {
    INFO(src << " -> " << tgt);
    auto r = run_migcheck({"compare", src, tgt, "--store", store, "-q"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, ContainsSubstring("same server"));
    CHECK_THAT(r.err, ContainsSubstring("run_id"));
    r = run_migcheck({"replicate", src, tgt, "--store", store, "-q"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, ContainsSubstring("replicate refused"));
  }
  CHECK(runs_in(store) == 0);  // refused before any run was recorded

  // Two databases of one server are two datasets: allowed.
  auto r = run_migcheck({"compare", ip, name + "/1", "--store", store, "-q", "--rounds", "1"});
  CHECK(r.exit_code == 1);  // db1 is empty: 20 missing keys

  // repair onto the source itself, from a real compare of source and target.
  TestServer target;
  r = run_migcheck({"compare", ip, target.uri(), "--store", store, "-q", "--rounds", "1"});
  REQUIRE(r.exit_code == 1);
  r = run_migcheck({"repair", ip, name, "--store", store, "-q"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("repair refused"));
  CHECK(server.cmd({"DBSIZE"}) == "20");
}

TEST_CASE("identity: repair --run N and --resume against other servers are refused",
          "[identity][integration]") {
  TestServer source, target, other;
  source.pipeline(some_keys(30));
  target.pipeline(some_keys(30));
  target.cmd({"DEL", "k:1", "k:2"});
  ReportTempDir dir;
  const std::string store = dir.file("m.db");
  auto r = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "-q", "--rounds", "1"});
  REQUIRE(r.exit_code == 1);

  // The compare run compared `target`; `other` is another server.
  r = run_migcheck({"repair", source.uri(), other.uri(), "--run", "1", "--store", store, "-q"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("cannot repair compare run 1"));
  CHECK_THAT(r.err, ContainsSubstring("another server"));
  CHECK(other.cmd({"DBSIZE"}) == "0");
  CHECK(runs_in(store) == 1);

  // The same target under another name is that target: accepted.
  r = run_migcheck(
      {"repair", source.uri(), localhost_uri(target), "--run", "1", "--store", store, "-q"});
  CHECK(r.exit_code == 0);
  CHECK(target.cmd({"DBSIZE"}) == "30");

  // A stopped compare resumed against another target is refused.
  r = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "-q", "--rounds", "1"});
  REQUIRE(r.exit_code == 0);
  const int64_t id = 3;
  {
    Store s(store, false);
    REQUIRE(s.run(id)->command == "compare");
    s.reopen_run(id);
    s.finish_run(id, "interrupted", 2);
  }
  r = run_migcheck({"compare", "--resume", std::to_string(id), source.uri(), other.uri(), "--store",
                    store, "-q"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("cannot resume run 3"));
  CHECK_THAT(r.err, ContainsSubstring("another server"));
  Store s(store, false);
  CHECK(s.run(id)->status == "interrupted");  // left as it was, still resumable
}

TEST_CASE("identity: a repair of a failed or interrupted compare is refused with a resume hint",
          "[identity][integration]") {
  TestServer source, target;
  source.pipeline(some_keys(10));
  ReportTempDir dir;
  const std::string store = dir.file("m.db");
  // A compare that failed: its target was down.
  const std::string down = "redis://127.0.0.1:" + std::to_string(free_port());
  auto r = run_migcheck({"compare", source.uri(), down, "--store", store, "-q", "--connect-timeout",
                         "500ms", "--retry-for", "0s"});
  REQUIRE(r.exit_code == 2);
  {
    Store s(store, false);
    REQUIRE(s.run(1)->status == "failed");
  }
  r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store, "-q"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("cannot repair compare run 1: it failed"));
  CHECK_THAT(r.err, ContainsSubstring("migcheck compare --resume 1"));
  CHECK(target.cmd({"DBSIZE"}) == "0");

  // An interrupted compare (stopped by a signal) likewise.
  r = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "-q", "--rounds", "1"});
  REQUIRE(r.exit_code == 1);
  {
    Store s(store, false);
    s.reopen_run(2);
    s.finish_run(2, "interrupted", 2);
  }
  r = run_migcheck({"repair", source.uri(), target.uri(), "--run", "2", "--store", store, "-q"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("cannot repair compare run 2: it was interrupted"));
  CHECK_THAT(r.err, ContainsSubstring("migcheck compare --resume 2"));
  CHECK(target.cmd({"DBSIZE"}) == "0");

  // One that never recorded its end (killed with SIGKILL): its process is
  // gone (its run lock is free), so it reads back as interrupted, likewise.
  {
    Store s(store, false);
    s.reopen_run(2);
  }
  r = run_migcheck({"repair", source.uri(), target.uri(), "--run", "2", "--store", store, "-q"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("cannot repair compare run 2: it was interrupted"));
  CHECK_THAT(r.err, ContainsSubstring("migcheck compare --resume 2"));
  CHECK(target.cmd({"DBSIZE"}) == "0");
}

TEST_CASE("identity: one cluster reached through two of its nodes is refused",
          "[identity][integration][cluster]") {
  TestCluster cluster;
  ReportTempDir dir;
  const std::string store = dir.file("m.db");
  auto r = run_migcheck(
      {"compare", cluster.node(0).uri(), cluster.node(1).uri(), "--store", store, "-q"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("same server"));
  r = run_migcheck(
      {"replicate", cluster.node(2).uri(), cluster.node(0).uri(), "--store", store, "-q"});
  CHECK(r.exit_code == 2);
  CHECK(runs_in(store) == 0);
}

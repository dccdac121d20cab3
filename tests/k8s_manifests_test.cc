// deploy/k8s/ without a Kubernetes cluster: the manifests parse and hold
// together (run_local.py --check-only), and the command line each pod of
// the Indexed Job would run, run here as N concurrent processes against
// real servers, followed by the merge Job's, gives the unpartitioned
// compare's differences; an index that never ran is named by the report.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "server_fixture.h"
#include "test_util.h"

namespace t = migcheck::test;
namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;
using json = nlohmann::json;

namespace {

const std::string kRunner = std::string(MIGCHECK_SOURCE_DIR) + "/deploy/k8s/run_local.py";

json run_local(const std::vector<std::string>& more) {
  std::vector<std::string> a = {"python3", kRunner};
  a.insert(a.end(), more.begin(), more.end());
  auto r = t::run_process(a, std::chrono::seconds(120));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

std::vector<std::string> keys_of_diffs(const std::string& store) {
  auto r = t::run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> keys;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) {
      json j = json::parse(line);
      keys.push_back(j["key"].get<std::string>() + " " + j["kind"].get<std::string>());
    }
  std::sort(keys.begin(), keys.end());
  return keys;
}

struct Dir {
  fs::path path;
  explicit Dir(const std::string& name)
      : path(fs::temp_directory_path() /
             ("migcheck-k8s-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("k8s: the manifests parse and agree (Indexed Job, Secret, PVC)", "[deploy]") {
  const json r = run_local({"--check-only"});
  CHECK(r["partitions"] == 3);
}

TEST_CASE("k8s: each index's command line, run locally as N processes, then the merge step",
          "[integration][deploy][partition]") {
  t::TestServer src, dst;
  for (int i = 0; i < 120; ++i) {
    src.cmd({"SET", "k:" + std::to_string(i), "v"});
    if (i % 9) dst.cmd({"SET", "k:" + std::to_string(i), i % 4 ? "v" : "changed"});
  }
  const std::string whole = t::tmp_store("k8s", "whole");
  auto r = t::run_migcheck(
      {"compare", src.uri(), dst.uri(), "--store", whole, "--quiet", "--rounds", "1"});
  REQUIRE(r.exit_code == 1);

  Dir stores("all");
  const json out =
      run_local({"--migcheck", MIGCHECK_BINARY, "--stores", stores.path.string(), "--source",
                 src.uri(), "--target", dst.uri(), "--set", "COMPARE_FLAGS=--rounds 1"});
  for (int i = 0; i < 3; ++i) {
    INFO("index " << i << ": " << out["indexes"][std::to_string(i)]["stderr"]);
    // Differences found is a successful pod.
    CHECK(out["indexes"][std::to_string(i)]["exit"] == 0);
    CHECK(fs::exists(stores.path / ("part-" + std::to_string(i + 1) + ".db")));
  }
  INFO(out["merge"].dump());
  CHECK(out["merge"]["exit"] == 0);
  const std::string merged = (stores.path / "merged.db").string();
  CHECK(keys_of_diffs(merged) == keys_of_diffs(whole));
  CHECK(fs::exists(stores.path / "report"));
  r = t::run_migcheck({"report", "--store", merged, "--format", "json", "--out", "-"});
  const json rep = json::parse(r.out);
  for (const auto& c : rep["checks"])
    if (c["id"] == "partitions") CHECK(c["status"] == "pass");

  SECTION("an index that never ran: the report names it") {
    Dir some("some");
    const json o = run_local({"--migcheck", MIGCHECK_BINARY, "--stores", some.path.string(),
                              "--source", src.uri(), "--target", dst.uri(), "--indexes", "0,2",
                              "--set", "COMPARE_FLAGS=--rounds 1"});
    CHECK(o["merge"]["exit"] == 0);
    CHECK_THAT(o["merge"]["stderr"].get<std::string>(), ContainsSubstring("partition 2/3 missing"));
    r = t::run_migcheck({"report", "--store", (some.path / "merged.db").string(), "--format",
                         "json", "--out", "-"});
    CHECK(r.exit_code == 1);
    CHECK(json::parse(r.out)["verdict"] == "NOT_READY");
  }
}

TEST_CASE("k8s: passwords reach the pods from the Secret's variables only",
          "[integration][deploy][partition]") {
  t::ServerOptions so;
  so.password = "s3cret-src";
  t::TestServer src(so);
  t::ServerOptions to;
  to.password = "s3cret-dst";
  t::TestServer dst(to);
  src.cmd({"SET", "a", "1"});
  Dir stores("auth");
  // The URIs carry no password: MIGCHECK_SOURCE_PASS / MIGCHECK_TARGET_PASS
  // (the Secret's keys in the manifest) must.
  std::vector<std::string> a = {"env",
                                "MIGCHECK_SOURCE_PASS=s3cret-src",
                                "MIGCHECK_TARGET_PASS=s3cret-dst",
                                "python3",
                                kRunner,
                                "--migcheck",
                                MIGCHECK_BINARY,
                                "--stores",
                                stores.path.string(),
                                "--source",
                                src.uri(),
                                "--target",
                                dst.uri(),
                                "--set",
                                "COMPARE_FLAGS=--rounds 1"};
  auto r = t::run_process(a, std::chrono::seconds(120));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json out = json::parse(r.out);
  for (int i = 0; i < 3; ++i) CHECK(out["indexes"][std::to_string(i)]["exit"] == 0);
  CHECK(out["merge"]["exit"] == 0);
  CHECK(keys_of_diffs((stores.path / "merged.db").string()) ==
        std::vector<std::string>{"a missing"});
}

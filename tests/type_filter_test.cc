// --type validation (src/type_filter.cc): the known types pass, anything else
// is refused at once, end to end with exit 2 and no run (nor store) left.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <filesystem>

#include "cli_runner.h"
#include "errors.h"
#include "report_fixture.h"
#include "server_fixture.h"
#include "type_filter.h"

using Catch::Matchers::ContainsSubstring;
using namespace migcheck;
using namespace migcheck::test;

TEST_CASE("type_filter: the six key types pass, others are refused", "[type_filter]") {
  for (auto t : kKeyTypes) CHECK_NOTHROW(refuse_unknown_type(t));
  CHECK_THROWS_AS(refuse_unknown_type("hashes"), UsageError);
  CHECK_THROWS_AS(refuse_unknown_type(""), UsageError);
  try {
    refuse_unknown_type("bad\x1b[31m");
    FAIL("not refused");
  } catch (const UsageError& e) {
    std::string what = e.what();
    CHECK(what.find('\x1b') == std::string::npos);  // echoed escaped
    CHECK_THAT(what, ContainsSubstring("string, list, set, zset, hash, stream"));
  }
}

TEST_CASE("type_filter: an unknown --type exits 2 before any run", "[type_filter][integration]") {
  TestServer source, target;
  source.cmd({"SET", "a", "1"});
  ReportTempDir dir;
  const std::string store = dir.file("m.db");
  for (const char* cmd : {"compare", "replicate"}) {
    INFO(cmd);
    auto r = run_migcheck({cmd, source.uri(), target.uri(), "--type", "hash", "--type", "hashes",
                           "--store", store, "-q"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, ContainsSubstring("--type hashes: unknown type"));
    CHECK_FALSE(std::filesystem::exists(store));  // no store, so no "resumable" run
  }
  CHECK(target.cmd({"DBSIZE"}) == "0");
  // Case does not matter for the known ones.
  auto r = run_migcheck(
      {"compare", source.uri(), target.uri(), "--type", "STRING", "--store", store, "-q"});
  CHECK(r.exit_code == 1);
}

// `migcheck --version` names the build exactly (src/version.cc).
#include <catch2/catch_test_macros.hpp>

#include "cli_runner.h"

using migcheck::test::run_migcheck;

TEST_CASE("version: names the commit, the build and the libraries") {
  auto r = run_migcheck({"--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("migcheck ", 0) == 0);
  CHECK(r.out.find("commit ") != std::string::npos);
  CHECK(r.out.find("commit unknown") == std::string::npos);
  CHECK(r.out.find("hiredis 0.14") != std::string::npos);
  CHECK(r.out.find("OpenSSL") != std::string::npos);
  CHECK(r.out.find("SQLite 3.") != std::string::npos);
}

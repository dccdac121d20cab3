// Unknown commands and options named with the nearest real one, and RIOT-X's
// flag names taken as ours, through the built binary.
#include "cli_suggest.h"

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>

#include "cli_runner.h"
#include "server_fixture.h"
#include "store.h"

using namespace migcheck;
using migcheck::test::run_migcheck;
using migcheck::test::TestServer;

TEST_CASE("cli_suggest: nearest names a close candidate only") {
  const std::vector<std::string> names{"compare", "repair", "replicate", "report"};
  CHECK(nearest("comapre", names) == "compare");
  CHECK(nearest("repiar", names) == "repair");
  CHECK(nearest("replicat", names) == "replicate");
  CHECK(nearest("bogus", names).empty());
  CHECK(nearest("", names).empty());
}

TEST_CASE("cli_suggest: an unknown command or option is one line with a suggestion") {
  auto r = run_migcheck({"comapre", "redis://127.0.0.1:1", "redis://127.0.0.1:2"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown command 'comapre'; did you mean compare?") != std::string::npos);
  CHECK(r.err.find("A subcommand is required") == std::string::npos);

  r = run_migcheck({"bogus"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown command 'bogus' (commands: info, compare") != std::string::npos);

  r = run_migcheck({"compare", "--mathc", "x*", "redis://127.0.0.1:1", "redis://127.0.0.1:2"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown option --mathc for 'compare'; did you mean --match?") !=
        std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);

  // A password in a mistyped command line never reaches the terminal, nor do
  // terminal control bytes.
  r = run_migcheck({"redis://u:hunter2@127.0.0.1:1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("hunter2") == std::string::npos);
  r = run_migcheck({"compare", "--\x1b]0;PWNED\x07", "a", "b"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find('\x1b') == std::string::npos);

  // An option's value may start with dashes.
  r = run_migcheck({"compare", "--match", "--not-an-option", "--connect-timeout", "200ms",
                    "--retry-for", "200ms", "--quiet", "redis://127.0.0.1:1", "redis://127.0.0.1:2",
                    "--store",
                    (std::filesystem::temp_directory_path() /
                     ("migcheck-suggest-" + std::to_string(::getpid()) + ".db"))
                        .string()});
  CHECK(r.err.find("unknown option") == std::string::npos);
}

TEST_CASE("cli_suggest: RIOT-X flag names are aliases of ours", "[integration]") {
  TestServer source, target;
  source.cmd({"SET", "a1", "x"});
  source.cmd({"SET", "b1", "x"});
  target.cmd({"SET", "a1", "x"});
  const auto store = (std::filesystem::temp_directory_path() /
                      ("migcheck-riot-" + std::to_string(::getpid()) + ".db"))
                         .string();
  std::filesystem::remove(store);
  auto r = run_migcheck({"compare", "--key-pattern=a*", "--read-threads", "2", "--read-batch", "7",
                         "--key-type", "string", "--rounds", "1", "--quiet", "--store", store,
                         source.uri(), target.uri()});
  INFO(r.err);
  CHECK(r.exit_code == 0);  // b1 is outside the pattern
  Store s(store, false);
  auto run = s.latest_run("compare");
  REQUIRE(run);
  auto o = nlohmann::json::parse(run->options_json);
  CHECK(o["match"] == "a*");
  CHECK(o["connections"] == 2);
  CHECK(o["batch"] == 7);
  std::filesystem::remove(store);
}

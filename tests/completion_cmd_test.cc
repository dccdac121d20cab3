// `migcheck completion bash|zsh`: the scripts parse, and bash completes
// commands, flags and flag values from what the parser really defines.
#include <catch2/catch_test_macros.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli_runner.h"
#include "server_fixture.h"

using migcheck::test::run_migcheck;
using migcheck::test::run_process;

namespace {

std::string script(const std::string& shell) {
  auto r = run_migcheck({"completion", shell});
  REQUIRE(r.exit_code == 0);
  auto path = std::filesystem::temp_directory_path() /
              ("migcheck-completion-" + std::to_string(::getpid()) + "." + shell);
  std::ofstream(path) << r.out;
  return path.string();
}

// What bash offers for the words of a command line, the last being completed.
std::string complete(const std::string& file, const std::string& words, int cword) {
  auto r = run_process(
      {"bash", "-c",
       "source " + file + "; COMP_WORDS=(" + words + "); COMP_CWORD=" + std::to_string(cword) +
           "; _migcheck; [ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\\n' \"${COMPREPLY[@]}\""},
      std::chrono::seconds(10));
  REQUIRE(r.exit_code == 0);
  return r.out;
}

}  // namespace

TEST_CASE("completion_cmd: bash completes commands, flags and choices") {
  const std::string file = script("bash");
  CHECK(run_process({"bash", "-n", file}, std::chrono::seconds(10)).exit_code == 0);
  CHECK(complete(file, "migcheck rep", 1) == "repair\nreplicate\nreport\n");
  const std::string flags = complete(file, "migcheck compare --ma", 2);
  CHECK(flags == "--match\n--max-ops-per-sec\n");
  CHECK(complete(file, "migcheck compare --read-from r", 3) == "replica\n");
  // Flags belong to their command: report has no --rounds.
  CHECK(complete(file, "migcheck report --roun", 2).empty());
  CHECK(complete(file, "migcheck compare --roun", 2) == "--rounds\n");
  std::filesystem::remove(file);
}

TEST_CASE("completion_cmd: zsh script parses and names every command") {
  const std::string file = script("zsh");
  auto r = run_process({"zsh", "-n", file}, std::chrono::seconds(10));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  for (const char* cmd : {"info", "compare", "diffs", "repair", "replicate", "report"})
    CHECK(text.find(std::string("'") + cmd + ":") != std::string::npos);
  CHECK(text.find("'--store[") != std::string::npos);
  CHECK(run_migcheck({"completion", "fish"}).exit_code == 2);
  std::filesystem::remove(file);
}

// The "Failed keys" block of the repair and replicate summaries
// (cli/failed_keys.h): nothing when no key failed, "(first ones)" when more
// failed than are listed, and key names and errors escaped for the terminal.
#include "failed_keys.h"

#include <unistd.h>

#include <catch2/catch_test_macros.hpp>

#include <cstdio>
#include <string>
#include <vector>

using namespace migcheck;
using namespace std::string_literals;

namespace {

// What print_failed_keys writes on stdout.
std::string printed(const std::vector<Outcome>& failures, int64_t total) {
  std::fflush(stdout);
  std::FILE* tmp = std::tmpfile();
  REQUIRE(tmp);
  const int saved = ::dup(STDOUT_FILENO);
  ::dup2(::fileno(tmp), STDOUT_FILENO);
  print_failed_keys(failures, total);
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  std::string out;
  std::rewind(tmp);
  for (int c; (c = std::fgetc(tmp)) != EOF;) out.push_back(static_cast<char>(c));
  std::fclose(tmp);
  return out;
}

Outcome failed(std::string key, std::string error, std::string detail) {
  Outcome o;
  o.key = std::move(key);
  o.error = std::move(error);
  o.detail = std::move(detail);
  return o;
}

}  // namespace

TEST_CASE("failed keys: nothing printed when no key failed") {
  CHECK(printed({}, 0).empty());
}

TEST_CASE("failed keys: every key listed, with error and detail") {
  const std::string out = printed({failed("a", "OOM full", "writing"),
                                   failed("b", "", "only detail"), failed("c", "ERR x", "")},
                                  3);
  CHECK(out == "\nFailed keys:\n  a: OOM full - writing\n  b: only detail\n  c: ERR x\n");
}

TEST_CASE("failed keys: more failures than listed say so; bytes are escaped") {
  const std::string out = printed({failed("bad\0\x1b[31m"s, "ERR \x1b]0;x", "d")}, 40);
  CHECK(out.starts_with("\nFailed keys (first ones):\n"));
  CHECK(out.find('\x1b') == std::string::npos);
  CHECK(out.find('\0') == std::string::npos);
}

// Untrusted text on the terminal (terminal_text, src/log.cc, main.cc): a
// server's error reply and the bytes of a URI reach stderr escaped, never
// as the escape sequences they carry.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <string>

#include "cli_runner.h"
#include "fake_peer.h"
#include "printable.h"

using Catch::Matchers::ContainsSubstring;
using migcheck::terminal_text;
using migcheck::test::FakePeer;
using migcheck::test::run_migcheck;

namespace {

bool has_control(const std::string& s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\n') || c == 0x7F) return true;
  return false;
}

}  // namespace

TEST_CASE("terminal text: controls escaped, backslashes and UTF-8 kept", "[terminal_escape]") {
  CHECK(terminal_text("ERR \x1b[2J\x1b]0;PWNED\x07 evil") == "ERR \\x1B[2J\\x1B]0;PWNED\\x07 evil");
  CHECK(terminal_text("key a\\x00b") == "key a\\x00b");  // already escaped: unchanged
  CHECK(terminal_text("caf\xC3\xA9") == "caf\xC3\xA9");
  CHECK(terminal_text("csi\xC2\x9B") == "csi\\u{009B}");
  CHECK(terminal_text("bad\xFF") == "bad\\xFF");
}

TEST_CASE("terminal text: a server's error reply reaches stderr escaped", "[terminal_escape]") {
  // One error per command of the set-up (AUTH, CLIENT SETNAME...).
  std::string errors;
  for (int i = 0; i < 4; ++i) errors += "-ERR \x1b[2J\x1b]0;PWNED\x07 evil\r\n";
  FakePeer evil(FakePeer::Mode::Answer, errors);
  auto r = run_migcheck({"info", evil.uri(), "--source-pass", "pw", "--connect-timeout", "2s"});
  CHECK(r.exit_code == 2);
  INFO(r.err);
  CHECK_FALSE(has_control(r.err));
  CHECK_THAT(r.err, ContainsSubstring("\\x1B[2J\\x1B]0;PWNED\\x07 evil"));
}

TEST_CASE("terminal text: URI bytes from the command line reach stderr escaped",
          "[terminal_escape]") {
  // A user name carrying escapes, to a port nobody listens on.
  FakePeer closed(FakePeer::Mode::Reset);
  const std::string uri =
      "redis://\x1b]0;PWNED\x07\x1b[2J:pw@127.0.0.1:" + std::to_string(closed.port());
  auto r = run_migcheck({"info", uri, "--connect-timeout", "2s"});
  CHECK(r.exit_code == 2);
  INFO(r.err);
  CHECK_FALSE(has_control(r.err));
  CHECK_THAT(r.err, ContainsSubstring("\\x1B]0;PWNED\\x07"));
  // A URI CLI11 refuses is quoted escaped too.
  auto bad = run_migcheck({"info", "--bogus-\x1b[2J"});
  CHECK(bad.exit_code == 2);
  CHECK_FALSE(has_control(bad.err));
}

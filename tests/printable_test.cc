// Tests of src/printable.h: binary key names shown unambiguously.
#include <catch2/catch_test_macros.hpp>

#include "printable.h"
#include "report_fixture.h"

using namespace migcheck;
using namespace migcheck::test;

TEST_CASE("report: printable_bytes shows binary keys unambiguously", "[report]") {
  CHECK(printable_bytes(kBinaryKey) == "bin\\x00\\xFF\\xFE:end");
  CHECK(printable_bytes("a\\x41") == "a\\\\x41");  // a literal backslash cannot pass for an escape
  CHECK(printable_bytes("tab\there\n") == "tab\\x09here\\x0A");
  CHECK(printable_bytes("\x7F") == "\\x7F");
  CHECK(printable_bytes("emoji \xF0\x9F\x9A\x80") == "emoji \xF0\x9F\x9A\x80");
  CHECK(printable_bytes("\xC0\xAF") == "\\xC0\\xAF");                    // overlong '/'
  CHECK(printable_bytes("\xED\xA0\x80") == "\\xED\\xA0\\x80");           // a UTF-16 surrogate
  CHECK(printable_bytes("\xF4\x90\x80\x80") == "\\xF4\\x90\\x80\\x80");  // above U+10FFFF
  CHECK(printable_bytes("\xE2\x82") == "\\xE2\\x82");                    // truncated sequence
  // Bidi overrides would make a key read differently than its bytes.
  CHECK(printable_bytes("user\xE2\x80\xAEtxt.exe") == "user\\u{202E}txt.exe");
  // C1 controls are valid UTF-8, and U+009B is a CSI to a terminal.
  CHECK(printable_bytes("csi\xC2\x9B"
                        "31m") == "csi\\u{009B}31m");
  CHECK(printable_bytes("nel\xC2\x85") == "nel\\u{0085}");
}

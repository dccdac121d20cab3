// Tests of reports/html_escape.h: markup and hostile key names become text.
#include <catch2/catch_test_macros.hpp>

#include <string>

#include "html_escape.h"
#include "report_fixture.h"

using namespace migcheck;
using namespace migcheck::test;

TEST_CASE("report: html_escape turns markup into text", "[report]") {
  CHECK(html_escape("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;");
  CHECK(html_escape(R"("><img src=x onerror=alert(1)>)") ==
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
  CHECK(html_escape("a & b 'c'") == "a &amp; b &#39;c&#39;");
  CHECK(html_escape("line\nnext\ttab") == "line\nnext\ttab");  // multi-line text stays multi-line
  CHECK(html_escape(std::string("nul\0bell\x07", 9)) == "nul\\x00bell\\x07");
  CHECK(html_escape("caf\xC3\xA9 \xE2\x82\xAC") == "caf\xC3\xA9 \xE2\x82\xAC");  // UTF-8 kept
  CHECK(html_escape("bad\xFF") == "bad\\xFF");  // the page stays UTF-8
  CHECK(html_escape("") == "");
}

TEST_CASE("report: html_bytes of hostile keys contains no markup", "[report]") {
  for (std::string_view key : {kScriptKey, kImgKey, kTitleKey}) {
    std::string out = html_bytes(key);
    INFO(out);
    CHECK(out.find_first_of("<>\"'") == std::string::npos);
  }
  CHECK(html_bytes(kTitleKey) ==
        "&lt;img src=x onerror=&quot;document.title=&#39;pwned&#39;&quot;&gt;");
  CHECK(html_bytes(std::string("<\xFF>", 3)) == "&lt;\\xFF&gt;");
}

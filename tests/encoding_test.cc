// Tests of src/encoding.h: UTF-8 validation, base64 and SHA-256.
#include <catch2/catch_test_macros.hpp>

#include <optional>
#include <string>

#include "encoding.h"
#include "report_fixture.h"

using namespace migcheck;
using namespace migcheck::test;

TEST_CASE("report: UTF-8 validation, base64 and SHA-256", "[report]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("\xF0\x9F\x9A\x80"));
  CHECK_FALSE(is_valid_utf8(kBinaryKey));
  CHECK_FALSE(is_valid_utf8("\xC0\x80"));      // overlong NUL
  CHECK_FALSE(is_valid_utf8("\xED\xBF\xBF"));  // surrogate
  CHECK_FALSE(is_valid_utf8("\xF0\x9F\x9A"));  // truncated

  // RFC 4648 section 10 test vectors.
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == std::optional<std::string>(plain));
  }
  CHECK(base64_decode(base64_encode(kBinaryKey)) == std::optional<std::string>(kBinaryKey));
  CHECK_FALSE(base64_decode("Zg="));   // not a multiple of 4
  CHECK_FALSE(base64_decode("Z==="));  // too much padding
  CHECK_FALSE(base64_decode("Zh=="));  // non-zero bits under the padding
  CHECK_FALSE(base64_decode("Zm=v"));  // padding in the middle
  CHECK_FALSE(base64_decode("Zm9v!A=="));

  CHECK(hex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

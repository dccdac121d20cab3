// CRC-64/Jones: the check value, piecewise updates, and a real DUMP payload's footer.
#include "crc64.h"

#include <catch2/catch_test_macros.hpp>

#include <string>

#include "server_fixture.h"

using namespace migcheck;

TEST_CASE("crc64: the check value of 123456789", "[crc64]") {
  CHECK(crc64(0, "123456789") == 0xe9c6d914c4b8d9caull);
  CHECK(crc64(0, "") == 0);
}

TEST_CASE("crc64: pieces give the same result as one call", "[crc64]") {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  const uint64_t whole = crc64(0, data);
  for (size_t cut : {0, 1, 7, 8, 9, 500, 999, 1000}) {
    uint64_t c = crc64(0, std::string_view(data).substr(0, cut));
    c = crc64(c, std::string_view(data).substr(cut));
    CHECK(c == whole);
  }
}

TEST_CASE("crc64: matches the footer of a server's DUMP payload", "[crc64][integration]") {
  test::TestServer srv;
  srv.cmd({"SET", "k", std::string(300, 'x') + "tail"});
  std::string payload = srv.reply({"DUMP", "k"}).str;
  REQUIRE(payload.size() > 10);
  uint64_t footer = 0;
  for (int i = 7; i >= 0; --i)
    footer = (footer << 8) | static_cast<unsigned char>(payload[payload.size() - 8 + i]);
  CHECK(crc64(0, std::string_view(payload).substr(0, payload.size() - 8)) == footer);
}

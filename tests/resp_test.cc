// Unit tests for RESP formatting and incremental parsing (hiredis underneath).
#include "resp.h"

#include <catch2/catch_test_macros.hpp>

#include "errors.h"

using namespace migcheck;
using namespace std::string_literals;

TEST_CASE("resp: commands are formatted binary-safe") {
  std::string out;
  Command c{"SET", std::string("k\0y", 3), ""};
  append_command(out, c);
  CHECK(out == "*3\r\n$3\r\nSET\r\n$3\r\nk\0y\r\n$0\r\n\r\n"s);
}

TEST_CASE("resp: replies parsed across arbitrary splits") {
  std::string wire =
      "+OK\r\n-ERR bad thing\r\n:42\r\n$-1\r\n$5\r\nhe\0lo\r\n*2\r\n*1\r\n:1\r\n$0\r\n\r\n"s;
  for (size_t split = 1; split < wire.size(); ++split) {
    ReplyParser p;
    std::vector<Reply> got;
    p.feed(std::string_view(wire).substr(0, split));
    while (auto r = p.next()) got.push_back(*r);
    p.feed(std::string_view(wire).substr(split));
    while (auto r = p.next()) got.push_back(*r);
    REQUIRE(got.size() == 6);
    CHECK(got[0].type == Reply::Type::Status);
    CHECK(got[1].is_error());
    CHECK(got[1].error_code() == "ERR");
    CHECK(got[2].as_integer() == 42);
    CHECK(got[3].is_nil());
    CHECK(got[4].str == std::string("he\0lo", 5));
    REQUIRE(got[5].elements.size() == 2);
    CHECK(got[5].elements[0].elements[0].integer == 1);
    CHECK(got[5].elements[1].str.empty());
  }
}

TEST_CASE("resp: garbage is a ProtocolError") {
  ReplyParser p;
  p.feed("?what\r\n");
  CHECK_THROWS_AS(p.next(), ProtocolError);
  // The parser is usable again after an error.
  p.feed(":7\r\n");
  auto r = p.next();
  REQUIRE(r);
  CHECK(r->integer == 7);
}

TEST_CASE("resp: checked accessors name what failed") {
  Reply e = Reply::error("WRONGTYPE Operation against a key");
  CHECK_THROWS_AS(e.as_integer("LLEN"), ProtocolError);
  Reply m;
  m.type = Reply::Type::Array;
  Reply k, v;
  k.type = v.type = Reply::Type::String;
  k.str = "length";
  v.str = "3";
  m.elements = {k, v};
  REQUIRE(find_field(m, "length"));
  CHECK(find_field(m, "length")->str == "3");
  CHECK(find_field(m, "nope") == nullptr);
}

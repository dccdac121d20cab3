// Unit tests for RESP formatting (checked against hiredis's own formatter)
// and incremental parsing (hiredis's reader building Reply values).
#include "resp.h"

#include <hiredis/hiredis.h>

#include <catch2/catch_test_macros.hpp>
#include <random>

#include "errors.h"

using namespace migcheck;
using namespace std::string_literals;

TEST_CASE("resp: commands are formatted binary-safe") {
  std::string out;
  Command c{"SET", std::string("k\0y", 3), ""};
  append_command(out, c);
  CHECK(out == "*3\r\n$3\r\nSET\r\n$3\r\nk\0y\r\n$0\r\n\r\n"s);
}

namespace {
std::string hiredis_format(const Command& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  const auto len =
      redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), argv.data(), lens.data());
  REQUIRE(len >= 0);
  std::string out(cmd, static_cast<size_t>(len));
  redisFreeCommand(cmd);
  return out;
}
}  // namespace

TEST_CASE("resp: commands are byte for byte what hiredis's formatter writes") {
  std::vector<Command> cases = {
      {"PING"},
      {""},
      {"GET", ""},
      {"SET", std::string("\0\r\n\xff", 4), std::string(1000, 'v')},
      {"HSCAN", "k", "0", "COUNT", "1000"},
  };
  // Random binary commands: 0..12 arguments of 0..300 random bytes.
  std::mt19937 rng(7);
  for (int c = 0; c < 200; ++c) {
    Command cmd(rng() % 13);
    for (auto& a : cmd) {
      a.resize(rng() % 301);
      for (auto& ch : a) ch = static_cast<char>(rng());
    }
    cases.push_back(cmd);
  }
  std::string ours, theirs;
  for (const auto& c : cases) {
    std::string one;
    append_command(one, c);
    CHECK(one == hiredis_format(c));
    append_command(ours, c);  // appends: the buffer keeps what came before
    theirs += hiredis_format(c);
  }
  CHECK(ours == theirs);
}

TEST_CASE("resp: nested and empty arrays, nil elements and errors inside arrays") {
  std::string wire = "*4\r\n*0\r\n*-1\r\n*3\r\n$-1\r\n-WRONGTYPE x\r\n*1\r\n+in\r\n:-5\r\n"s;
  for (size_t split = 1; split <= wire.size(); ++split) {
    ReplyParser p;
    std::vector<Reply> got;
    for (size_t at = 0; at < wire.size(); at += split) {
      p.feed(std::string_view(wire).substr(at, split));
      while (auto r = p.next()) got.push_back(std::move(*r));
    }
    REQUIRE(got.size() == 1);
    const Reply& r = got[0];
    REQUIRE(r.is_array());
    REQUIRE(r.elements.size() == 4);
    CHECK(r.elements[0].is_array());
    CHECK(r.elements[0].elements.empty());
    CHECK(r.elements[1].is_nil());
    const auto& inner = r.elements[2].elements;
    REQUIRE(inner.size() == 3);
    CHECK(inner[0].is_nil());
    CHECK(inner[1].is_error());
    CHECK(inner[1].error_code() == "WRONGTYPE");
    REQUIRE(inner[2].elements.size() == 1);
    CHECK(inner[2].elements[0].type == Reply::Type::Status);
    CHECK(inner[2].elements[0].str == "in");
    CHECK(r.elements[3].as_integer() == -5);
  }
}

TEST_CASE("resp: a reply taken out is not changed by the next one") {
  ReplyParser p;
  p.feed("*2\r\n$1\r\na\r\n$1\r\nb\r\n:3\r\n$5\r\nhello\r\n"s);
  auto a = p.next();
  auto b = p.next();
  auto c = p.next();
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK_FALSE(p.next());
  REQUIRE(a->elements.size() == 2);
  CHECK(a->elements[1].str == "b");
  CHECK(b->integer == 3);
  CHECK(b->elements.empty());
  CHECK(c->str == "hello");
}

TEST_CASE("resp: garbage inside an array is a ProtocolError and the parser recovers") {
  ReplyParser p;
  p.feed("*3\r\n:1\r\n$2\r\nab\r\n?bad\r\n"s);
  CHECK_THROWS_AS(p.next(), ProtocolError);
  p.feed("*1\r\n$2\r\nok\r\n"s);
  auto r = p.next();
  REQUIRE(r);
  REQUIRE(r->elements.size() == 1);
  CHECK(r->elements[0].str == "ok");
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

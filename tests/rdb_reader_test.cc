// The snapshot byte source: RDB lengths, integer and LZF strings, doubles,
// string pieces, CRC64 and capture of consumed bytes, offsets in errors, and
// DUMP payload framing accepted by a real server's RESTORE.
#include "rdb_reader.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "crc64.h"
#include "errors.h"
#include "rdb_writer.h"
#include "server_fixture.h"

using namespace migcheck;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("rdb reader: lengths of 6, 14, 32 and 64 bits", "[rdb]") {
  test::RdbWriter w(9);
  w.out.clear();
  for (uint64_t v : {0ull, 63ull, 64ull, 16383ull, 16384ull, 0xffffffffull, 0x100000000ull})
    w.len(v);
  const std::string bytes = w.out;
  RdbInput in(bytes, "t");
  for (uint64_t v : {0ull, 63ull, 64ull, 16383ull, 16384ull, 0xffffffffull, 0x100000000ull})
    CHECK(in.length("a length") == v);
  CHECK(in.remaining() == 0);
  CHECK_THROWS_AS(in.length("a length"), RdbError);
}

TEST_CASE("rdb reader: integer, raw and LZF strings; pieces", "[rdb]") {
  test::RdbWriter w(9);
  w.out.clear();
  w.int_str(-128, 1).int_str(32767, 2).int_str(-2147483648ll, 4).str("raw");
  w.lzf_str(std::string("\x02"
                        "abc"
                        "\x60\x02",
                        6),
            8);  // abc + 5 back at distance 3
  w.str(std::string(10, 'z'));
  const std::string bytes = w.out;
  RdbInput in(bytes, "t");
  std::string s;
  in.string(s, "s");
  CHECK(s == "-128");
  in.string(s, "s");
  CHECK(s == "32767");
  in.string(s, "s");
  CHECK(s == "-2147483648");
  in.string(s, "s");
  CHECK(s == "raw");
  in.string(s, "s");
  CHECK(s == "abcabcab");
  std::vector<std::string> pieces;
  in.string_chunks([&](std::string_view p) { pieces.emplace_back(p); }, 4, "s");
  CHECK(pieces == std::vector<std::string>{"zzzz", "zzzz", "zz"});
}

TEST_CASE("rdb reader: a string whole up to a chunk, in pieces above, its size told first",
          "[rdb]") {
  test::RdbWriter w(9);
  w.out.clear();
  // "abcabcab" (8 bytes) in LZF, a raw string of 10, an integer.
  const std::string abc8(
      "\x02"
      "abc"
      "\x60\x02",
      6);
  w.lzf_str(abc8, 8).str(std::string(10, 'z')).int_str(-7, 1);
  w.lzf_str(abc8, 8).str(std::string(10, 'z')).str("");
  const std::string bytes = w.out;
  RdbInput in(bytes, "t");
  std::vector<std::string> events;
  auto begin = [&](uint64_t n) { events.push_back("size " + std::to_string(n)); };
  auto sink = [&](std::string_view p) { events.emplace_back(p); };
  std::string out = "old";
  // Chunks of 8: each fits, and is read whole.
  for (const char* want : {"abcabcab", "zzzzzzzzzz", "-7"}) {
    CHECK(in.string_or_chunks(out, std::string_view(want).size(), begin, sink, "s"));
    CHECK(out == want);
  }
  CHECK(events.empty());
  // Chunks of 3: the size first, then pieces; `out` is left empty.
  CHECK_FALSE(in.string_or_chunks(out, 3, begin, sink, "s"));
  CHECK_FALSE(in.string_or_chunks(out, 3, begin, sink, "s"));
  CHECK(out.empty());
  CHECK(events == std::vector<std::string>{"size 8", "abc", "abc", "ab", "size 10", "zzz", "zzz",
                                           "zzz", "z"});
  CHECK(in.string_or_chunks(out, 3, begin, sink, "s"));
  CHECK(out.empty());
  CHECK(in.remaining() == 0);
}

TEST_CASE("rdb reader: LZF rejects references before the start and wrong sizes", "[rdb]") {
  std::string out;
  CHECK(lzf_decompress(std::string("\x02"
                                   "abc"
                                   "\x60\x02",
                                   6),
                       8, out));
  CHECK(out == "abcabcab");
  out.clear();
  CHECK_FALSE(lzf_decompress(std::string("\x00"
                                         "a"
                                         "\x20\x05",
                                         4),
                             4, out));  // distance 6 > 1
  CHECK_FALSE(lzf_decompress(std::string("\x02"
                                         "abc",
                                         4),
                             5, out));  // too short
  CHECK_FALSE(lzf_decompress(std::string("\x05"
                                         "abc",
                                         4),
                             6, out));  // literal overrun
  CHECK(out.empty());
}

TEST_CASE("rdb reader: doubles, CRC of consumed bytes, capture, offsets in errors", "[rdb]") {
  std::string bytes = std::string("\x03") + "2.5" + "\xfd\xfe\xff" + "\x02x1";
  RdbInput in(bytes, "f.rdb");
  CHECK(in.text_double("d") == 2.5);
  CHECK(std::isnan(in.text_double("d")));
  CHECK(in.text_double("d") == INFINITY);
  std::string cap;
  in.begin_capture(&cap);
  CHECK(in.text_double("d") == -INFINITY);
  in.end_capture();
  CHECK(cap == "\xff");
  CHECK(in.crc() == crc64(0, std::string_view(bytes).substr(0, 7)));
  CHECK_THROWS_WITH(in.text_double("a score"),
                    ContainsSubstring("f.rdb: offset 8: expected a score (a number)"));
}

TEST_CASE("rdb reader: a framed DUMP payload is accepted by RESTORE", "[rdb][integration]") {
  test::TestServer srv;
  // A string object: type 0, then the value as a length-prefixed string.
  std::string object = std::string(1, '\0') + "\x05hello";
  srv.cmd({"RESTORE", "k", "0", frame_dump_payload(object, 9)});
  CHECK(srv.cmd({"GET", "k"}) == "hello");
  // The server's own DUMP of it has the same object bytes.
  std::string dump = srv.reply({"DUMP", "k"}).str;
  CHECK(dump.substr(0, dump.size() - 10) == object);
}

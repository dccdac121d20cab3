// LzfStream against the whole-buffer decoder (lzf_decompress): random valid
// data fed and handed on in every chunking (runs and back-references
// crossing piece and chunk boundaries, back-references exactly 8192 back,
// overlapping copies), damaged and random data (the same verdict, a fault
// inside the input), and the reader's streaming path for big LZF strings.
#include <catch2/catch_test_macros.hpp>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "errors.h"
#include "lzf_stream.h"
#include "lzf_tokens.h"
#include "rdb_reader.h"
#include "rdb_writer.h"

using namespace migcheck;

namespace {

struct Streamed {
  std::optional<LzfFault> fault;
  std::string out;
  std::vector<size_t> chunks;  // the size of each piece handed on
};

// Feeds `packed` in pieces of `piece` bytes, output in chunks of `chunk`.
Streamed stream(std::string_view packed, size_t out_len, size_t chunk, size_t piece) {
  Streamed s;
  LzfStream z(out_len, chunk, [&](std::string_view c) {
    s.out.append(c);
    s.chunks.push_back(c.size());
  });
  for (size_t at = 0; at < packed.size() && !s.fault; at += piece)
    s.fault = z.feed(packed.substr(at, piece));
  if (!s.fault) s.fault = z.finish();
  return s;
}

std::string whole(std::string_view packed, size_t out_len, bool& ok) {
  std::string out;
  ok = lzf_decompress(packed, out_len, out);
  return out;
}

// Same verdict and output as the whole-buffer decoder; a fault names an
// offset inside the input.
void check_agrees(std::string_view packed, size_t out_len, size_t chunk, size_t piece) {
  bool ok = false;
  const std::string expect = whole(packed, out_len, ok);
  const Streamed s = stream(packed, out_len, chunk, piece);
  INFO("chunk " << chunk << " piece " << piece << " out_len " << out_len);
  REQUIRE(ok == !s.fault);
  if (s.fault) {
    CHECK(s.fault->at <= packed.size());
    return;
  }
  CHECK(s.out == expect);
  for (size_t i = 0; i + 1 < s.chunks.size(); ++i) CHECK(s.chunks[i] == chunk);
  if (!s.chunks.empty()) CHECK(s.chunks.back() <= chunk);
}

std::string with_len_prefix(unsigned ctrl_len, unsigned back) {
  // A back-reference of ctrl_len + 2 bytes, `back` bytes back.
  std::string t;
  t.push_back(static_cast<char>((ctrl_len << 5) | ((back - 1) >> 8)));
  t.push_back(static_cast<char>((back - 1) & 0xff));
  return t;
}

}  // namespace

TEST_CASE("lzf stream: random valid data, every chunking", "[lzf]") {
  std::mt19937_64 rng(17);
  for (int round = 0; round < 6; ++round) {
    const auto d = test::random_lzf(rng, 20000 + rng() % 40000, round * 15);
    for (size_t chunk : {1, 7, 100, 8191, 8192, 8193, 65536, 1 << 20})
      for (size_t piece : {1, 2, 3, 33, 4096, 1 << 20})
        check_agrees(d.packed, d.raw_len, chunk, piece);
  }
}

TEST_CASE("lzf stream: back-references exactly 8192 back and overlapping copies", "[lzf]") {
  // 8192 literal bytes (256 runs of 32), then a copy of the very first ones.
  std::string packed, raw;
  for (int r = 0; r < 256; ++r) {
    packed.push_back(31);
    for (int i = 0; i < 32; ++i) {
      const char c = static_cast<char>('A' + (r * 32 + i) % 61);
      packed.push_back(c);
      raw.push_back(c);
    }
  }
  packed += with_len_prefix(3, 8192);  // 5 bytes from 8192 back
  raw += raw.substr(0, 5);
  packed += with_len_prefix(6, 1);  // 8 copies of the last byte: overlapping
  raw += std::string(8, raw.back());
  packed += with_len_prefix(4, 2);  // offset 2, length 6
  for (int i = 0; i < 6; ++i) raw.push_back(raw[raw.size() - 2]);
  for (size_t chunk : {1, 5, 4096, 8192, 8197, 100000})
    for (size_t piece : {1, 2, 7, 1000}) {
      const Streamed s = stream(packed, raw.size(), chunk, piece);
      REQUIRE_FALSE(s.fault);
      CHECK(s.out == raw);
      check_agrees(packed, raw.size(), chunk, piece);
    }
}

TEST_CASE("lzf stream: faults name the token's offset", "[lzf]") {
  const std::string lit(
      "\x02"
      "abc",
      4);
  SECTION("a back-reference before the start of the output") {
    const std::string p = lit + with_len_prefix(1, 4);
    const Streamed s = stream(p, 6, 2, 1);
    REQUIRE(s.fault);
    CHECK(s.fault->at == 4);
    CHECK(s.fault->what.find("back-reference") != std::string::npos);
  }
  SECTION("output longer than declared") {
    const Streamed s = stream(lit + lit, 5, 100, 3);
    REQUIRE(s.fault);
    CHECK(s.fault->at == 4);
  }
  SECTION("output shorter than declared") {
    const Streamed s = stream(lit, 4, 100, 100);
    REQUIRE(s.fault);
    CHECK(s.fault->at == 4);
    CHECK(s.fault->what.find("ends after 3") != std::string::npos);
  }
  SECTION("a token cut by the end of the data") {
    const Streamed s = stream(lit + "\x05xy", 9, 100, 2);
    REQUIRE(s.fault);
    CHECK(s.fault->at == 4);
    CHECK(s.fault->what.find("complete LZF token") != std::string::npos);
  }
}

TEST_CASE("lzf stream: damaged and random data agree with the whole-buffer decoder",
          "[lzf][fuzz]") {
  std::mt19937_64 rng(4242);
  const auto d = test::random_lzf(rng, 30000, 30);
  for (int i = 0; i < 3000; ++i) {
    std::string bad = d.packed;
    for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k)
      bad[rng() % bad.size()] = static_cast<char>(rng() & 0xff);
    if (rng() % 4 == 0) bad.resize(rng() % bad.size());
    const size_t len = rng() % 8 == 0 ? d.raw_len + rng() % 5 - 2 : d.raw_len;
    check_agrees(bad, len, 1 + rng() % 9000, 1 + rng() % 300);
  }
  for (int i = 0; i < 5000; ++i) {
    std::string junk(rng() % 200, '\0');
    for (char& c : junk) c = static_cast<char>(rng() & 0xff);
    check_agrees(junk, rng() % 2000, 1 + rng() % 64, 1 + rng() % 40);
  }
}

TEST_CASE("rdb reader: an LZF string bigger than a chunk is streamed", "[lzf][rdb]") {
  std::mt19937_64 rng(5);
  const auto d = test::random_lzf(rng, 50000, 20);
  bool ok = false;
  const std::string raw = whole(d.packed, d.raw_len, ok);
  REQUIRE(ok);
  test::RdbWriter w(9);
  w.lzf_str(d.packed, d.raw_len);
  std::string bytes = w.out.substr(9);
  {
    RdbInput in(bytes, "mem");
    std::string got;
    size_t pieces = 0;
    in.string_chunks(
        [&](std::string_view c) {
          CHECK(c.size() <= 4096);
          got.append(c);
          ++pieces;
        },
        4096, "s");
    CHECK(got == raw);
    CHECK(pieces == (raw.size() + 4095) / 4096);
    CHECK(in.remaining() == 0);
  }
  // A back-reference before the start: the error names its file offset.
  const size_t data_at = bytes.size() - d.packed.size();
  std::string bad = bytes;
  bad[data_at] = static_cast<char>(0x20 | 0x1f);  // a first token copying from 7937+ back
  RdbInput in(bad, "mem");
  try {
    in.string_chunks([](std::string_view) {}, 4096, "s");
    FAIL("damaged LZF data read");
  } catch (const RdbError& e) {
    CHECK(e.offset == data_at);
    CHECK(std::string(e.what()).find("mem: offset ") == 0);
  }
}

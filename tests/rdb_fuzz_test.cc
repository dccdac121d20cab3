// Fuzz-style robustness of the snapshot parser (CI runs "[fuzz]" under
// ASan+UBSan): a valid file truncated at every offset, with single bytes
// flipped, and with random bytes after a valid header must end in a result
// or an RdbError naming an offset inside the input, never a crash, a hang or
// a huge allocation.
#include <catch2/catch_test_macros.hpp>

#include <random>
#include <string>

#include "errors.h"
#include "lzf_tokens.h"
#include "rdb_digest.h"
#include "rdb_parser.h"
#include "rdb_writer.h"

using namespace migcheck;

namespace {

// Parses with the digesting visitor (the path compare uses); true if it
// succeeded, false on RdbError. Anything else escapes and fails the test.
bool parses(const std::string& bytes) {
  RdbInput in(bytes, "fuzz");
  RdbDigestVisitor v([](const RdbKeyState&) {});
  try {
    RdbParser(in, v).run();
    return true;
  } catch (const RdbError& e) {
    CHECK(e.offset <= bytes.size());
    return false;
  }
}

}  // namespace

TEST_CASE("rdb fuzz: truncation at every offset is an error naming the offset", "[fuzz][rdb]") {
  const std::string file = test::sample_rdb();
  REQUIRE(parses(file));
  for (size_t n = 0; n < file.size(); ++n) {
    INFO("truncated to " << n << " bytes");
    RdbInput in(std::string_view(file).substr(0, n), "fuzz");
    RdbVisitor v;
    try {
      RdbParser(in, v).run();
      FAIL("a truncated file parsed");
    } catch (const RdbError& e) {
      CHECK(e.offset <= n);
    }
  }
}

TEST_CASE("rdb fuzz: flipped bytes never crash", "[fuzz][rdb]") {
  const std::string file = test::sample_rdb();
  std::mt19937_64 rng(1717);
  // Every byte, every bit, without the checksum (0 = not verified) so the
  // parser gets past the value and into its decoders.
  std::string unchecked = file;
  for (int i = 1; i <= 8; ++i) unchecked[unchecked.size() - i] = 0;
  for (size_t at = 9; at < unchecked.size() - 8; ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = unchecked;
      bad[at] = static_cast<char>(bad[at] ^ (1 << bit));
      (void)parses(bad);
    }
  }
  // Random multi-byte damage.
  for (int i = 0; i < 20000; ++i) {
    std::string bad = unchecked;
    for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k)
      bad[9 + rng() % (bad.size() - 17)] = static_cast<char>(rng() & 0xff);
    (void)parses(bad);
  }
  // With the checksum in place, any damage is caught.
  for (size_t at = 9; at < file.size() - 8; ++at) {
    std::string bad = file;
    bad[at] = static_cast<char>(bad[at] ^ 0x40);
    CHECK_FALSE(parses(bad));
  }
}

TEST_CASE("rdb fuzz: random bytes after a valid header", "[fuzz][rdb]") {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = "REDIS0011";
    const size_t n = rng() % 300;
    for (size_t k = 0; k < n; ++k) bytes.push_back(static_cast<char>(rng() & 0xff));
    (void)parses(bytes);
  }
  SUCCEED("parser survived random input");
}

TEST_CASE("rdb fuzz: a damaged big LZF string (the streaming path)", "[fuzz][rdb]") {
  std::mt19937_64 rng(1718);
  const auto d = test::random_lzf(rng, (1 << 20) + 300000, 2);  // past the parser's chunk
  test::RdbWriter w(9);
  w.select(0).key(0, "big").lzf_str(d.packed, d.raw_len);
  const std::string file = w.finish(false);
  REQUIRE(parses(file));
  const size_t data_at = file.size() - 9 - d.packed.size();
  for (int i = 0; i < 300; ++i) {
    std::string bad = file;
    // Mostly in the compressed bytes; sometimes in the sizes before them.
    const size_t at = i % 10 == 0 ? data_at - 1 - rng() % 8 : data_at + rng() % d.packed.size();
    bad[at] = static_cast<char>(rng() & 0xff);
    if (i % 7 == 0) bad.resize(data_at + rng() % d.packed.size());
    (void)parses(bad);
  }
}

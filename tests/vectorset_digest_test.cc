// VectorSetDigest: order-independent over elements; every part of an element
// (name, stored vector, attributes) and the header count.
#include "vectorset_digest.h"

#include <catch2/catch_test_macros.hpp>

#include <array>
#include <optional>
#include <string_view>

using namespace migcheck;

namespace {

struct El {
  std::string_view name;
  std::array<std::string_view, 3> raw;
  std::optional<std::string_view> attr;
};

Digest128 digest_of(std::initializer_list<El> els, std::string_view quant = "int8",
                    int64_t dim = 3) {
  VectorSetDigest d;
  d.set_header(quant, dim, 0);
  for (const El& e : els) d.add_element(e.name, e.raw, e.attr);
  return d.finish();
}

const El a{"a", {"int8", "\x01\x02\x03", "3.74"}, R"({"x":1})"};
const El b{"b", {"int8", "\x01\x00\x03", "3.16"}, std::nullopt};
const El c{"c", {"int8", "\x7f\x00\x00", "1"}, ""};

}  // namespace

TEST_CASE("vectorset digest: any element order gives the same digest", "[digest]") {
  CHECK(digest_of({a, b, c}) == digest_of({c, a, b}));
  CHECK(digest_of({a, b, c}) == digest_of({b, c, a}));
}

TEST_CASE("vectorset digest: each part of the value matters", "[digest]") {
  const Digest128 base = digest_of({a, b, c});
  El a2 = a;
  a2.attr = R"({"x":2})";
  CHECK(digest_of({a2, b, c}) != base);
  El b2 = b;
  b2.raw[1] = "\x01\x01\x03";
  CHECK(digest_of({a, b2, c}) != base);
  El c2 = c;
  c2.attr = std::nullopt;  // no attributes differs from empty attributes
  CHECK(digest_of({a, b, c2}) != base);
  El c3 = c;
  c3.name = "d";
  CHECK(digest_of({a, b, c3}) != base);
  CHECK(digest_of({a, b}) != base);
  CHECK(digest_of({a, b, c}, "f32") != base);
  CHECK(digest_of({a, b, c}, "int8", 4) != base);
  // Name and vector bytes do not run into each other.
  CHECK(digest_of({El{"ab", {"int8", "c", "1"}, {}}}) !=
        digest_of({El{"a", {"int8", "bc", "1"}, {}}}));
}

// Ziplist, listpack, intset and zipmap decoding: every element encoding, and
// errors naming a file offset for blobs that lie about their size or end early.
#include "rdb_encodings.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <string>
#include <vector>

#include "errors.h"
#include "rdb_writer.h"

using namespace migcheck;
using namespace migcheck::test;
using Catch::Matchers::ContainsSubstring;

namespace {

using Decoder = void (*)(std::string_view, const BlobContext&, const ElementSink&);

std::vector<std::string> decode(Decoder d, const std::string& blob) {
  std::vector<std::string> out;
  d(blob, BlobContext{"f", 1000}, [&](std::string_view e) { out.emplace_back(e); });
  return out;
}

const std::vector<Elem> kMixed = {std::string(""),
                                  std::string("abc"),
                                  std::string(100, 'm'),
                                  std::string(5000, 'L'),
                                  std::string(70000, 'H'),
                                  int64_t{0},
                                  int64_t{12},
                                  int64_t{127},
                                  int64_t{-1},
                                  int64_t{-4096},
                                  int64_t{4095},
                                  int64_t{-30000},
                                  int64_t{8000000},
                                  int64_t{-2000000000},
                                  int64_t{INT64_MIN},
                                  int64_t{INT64_MAX}};

std::vector<std::string> as_text(const std::vector<Elem>& v) {
  std::vector<std::string> out;
  for (const Elem& e : v)
    out.push_back(std::holds_alternative<std::string>(e) ? std::get<std::string>(e)
                                                         : std::to_string(std::get<int64_t>(e)));
  return out;
}

}  // namespace

TEST_CASE("rdb encodings: ziplist and listpack, every element encoding", "[rdb]") {
  CHECK(decode(decode_ziplist, ziplist(kMixed)) == as_text(kMixed));
  CHECK(decode(decode_listpack, listpack(kMixed)) == as_text(kMixed));
  CHECK(decode(decode_ziplist, ziplist({})).empty());
  CHECK(decode(decode_listpack, listpack({})).empty());
}

TEST_CASE("rdb encodings: intsets of 16, 32 and 64 bits, zipmaps", "[rdb]") {
  CHECK(decode(decode_intset, intset(2, {-32768, 0, 32767})) ==
        std::vector<std::string>{"-32768", "0", "32767"});
  CHECK(decode(decode_intset, intset(4, {INT32_MIN, INT32_MAX})) ==
        std::vector<std::string>{"-2147483648", "2147483647"});
  CHECK(decode(decode_intset, intset(8, {INT64_MIN, 1})) ==
        std::vector<std::string>{"-9223372036854775808", "1"});
  CHECK(
      decode(decode_zipmap, zipmap({{"a", "1"}, {std::string(300, 'k'), std::string(260, 'v')}})) ==
      std::vector<std::string>{"a", "1", std::string(300, 'k'), std::string(260, 'v')});
}

TEST_CASE("rdb encodings: corrupt blobs name the offset in the file", "[rdb]") {
  auto err = [](Decoder d, const std::string& blob) -> std::string {
    try {
      decode(d, blob);
    } catch (const RdbError& e) {
      CHECK(e.offset >= 1000);
      CHECK(e.offset <= 1000 + blob.size());
      return e.what();
    }
    return "";
  };
  std::string zl = ziplist({std::string("abc")});
  CHECK_THAT(err(decode_ziplist, zl.substr(0, zl.size() - 1)), ContainsSubstring("ziplist size"));
  zl[0] = static_cast<char>(zl[0] + 1);
  zl.push_back('\xff');
  zl[zl.size() - 2] = 0x20;  // the end marker becomes a previous length: 0xff follows as encoding
  CHECK_THAT(err(decode_ziplist, zl), ContainsSubstring("f: offset"));
  std::string lp = listpack({int64_t{1}});
  lp[6] = static_cast<char>(0xf5);  // no such encoding
  CHECK_THAT(err(decode_listpack, lp),
             ContainsSubstring("expected an element encoding in a listpack"));
  CHECK_THAT(err(decode_intset, intset(3, {1})), ContainsSubstring("2, 4 or 8"));
  std::string is = intset(2, {1, 2});
  CHECK_THAT(err(decode_intset, is.substr(0, is.size() - 1)), ContainsSubstring("intset length"));
  std::string zm = zipmap({{"a", "b"}});
  CHECK_THAT(err(decode_zipmap, zm.substr(0, zm.size() - 1)), ContainsSubstring("zipmap"));
}

// The snapshot parser on files built here from the format description: every
// old encoding (linked lists, ziplists, zipmaps, intsets of 16/32/64 bits,
// integer and LZF strings, text-double zsets), RDB versions 6 to 12, expiries,
// several dbs, module values, functions, field-expiry hashes, checksums, and
// one-line errors naming the offset for truncated or corrupt files.
#include "rdb_parser.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "errors.h"
#include "lzf_tokens.h"
#include "rdb_digest.h"
#include "rdb_writer.h"

using namespace migcheck;
using namespace migcheck::test;
using Catch::Matchers::ContainsSubstring;

namespace {

// Renders everything the parser reports as text, one line per key.
struct Recorder : RdbVisitor {
  std::vector<std::string> lines;
  std::map<std::string, std::string> aux;
  std::vector<std::string> functions, module_aux;
  std::string cur;
  bool checksum = false;
  int version = 0;
  void on_version(int v) override { version = v; }
  void on_aux(std::string_view k, std::string_view v) override { aux[std::string(k)] = v; }
  void on_function(std::string_view c) override { functions.emplace_back(c); }
  void on_module_aux(std::string_view m) override { module_aux.emplace_back(m); }
  bool begin_key(const RdbKey& k) override {
    cur = "db" + std::to_string(k.db) + " " + std::string(k.key) + " " + rdb_kind_name(k.kind);
    if (k.expire_ms) cur += " exp=" + std::to_string(*k.expire_ms);
    cur += ":";
    return true;
  }
  void string_chunk(std::string_view b) override { cur += " " + std::string(b); }
  void list_element(std::string_view v) override { cur += " " + std::string(v); }
  void set_member(std::string_view v) override { cur += " " + std::string(v); }
  void zset_member(std::string_view m, double s) override {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", s);
    cur += " " + std::string(m) + "=" + buf;
  }
  void hash_field(std::string_view f, std::string_view v, int64_t e) override {
    cur += " " + std::string(f) + "=" + std::string(v);
    if (e) cur += "@" + std::to_string(e);
  }
  void module_value(std::string_view name, std::string_view ser) override {
    cur += " " + std::string(name) + "/" + std::to_string(ser.size());
  }
  void end_key(uint64_t) override { lines.push_back(cur); }
  void on_end(bool verified) override { checksum = verified; }
};

Recorder parse(const std::string& bytes) {
  Recorder r;
  RdbInput in(bytes, "test.rdb");
  RdbParser p(in, r);
  p.run();
  return r;
}

// The error reading `bytes` with a `Visitor`; "" when there is none.
template <typename Visitor = Recorder>
std::string error_of(const std::string& bytes) {
  try {
    Visitor r;
    RdbInput in(bytes, "test.rdb");
    RdbParser(in, r).run();
  } catch (const RdbError& e) {
    return e.what();
  }
  return "";
}

// LZF for "abcabcabc...abc" (n bytes, n >= 6): the literal "abc", then one
// back reference of n - 3 bytes at distance 3 (overlapping copy).
std::string lzf_abc(size_t n) {
  std::string c = {'\x02', 'a', 'b', 'c'};
  size_t l = n - 3 - 2;  // the stored length is len - 2
  if (l < 7) {
    c.push_back(static_cast<char>((l << 5) | 0));
  } else {
    c.push_back(static_cast<char>(7 << 5));
    c.push_back(static_cast<char>(l - 7));
  }
  c.push_back(2);  // distance - 1
  return c;
}

uint64_t module_id(const std::string& name9, int encver) {
  static const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  uint64_t id = 0;
  for (char ch : name9) id = (id << 6) | chars.find(ch);
  return (id << 10) | static_cast<uint64_t>(encver);
}

}  // namespace

TEST_CASE("rdb parser: old encodings of RDB 6 (strings, linked lists, ziplists, zipmaps, intsets)",
          "[rdb]") {
  RdbWriter w(6);
  w.aux("redis-ver", "3.2.0").select(0);
  w.key(0, "raw").str("hello");
  w.key(0, "i8").int_str(-7, 1);
  w.key(0, "i16").int_str(-30000, 2);
  w.key(0, "i32").int_str(2000000000, 4);
  w.key(0, "lzf").lzf_str(lzf_abc(30), 30);
  w.expire_sec(2000000000).key(1, "linked").len(3).str("a").str("b").int_str(5, 1);
  w.key(10, "zl").str(ziplist({std::string("x"), int64_t{0}, int64_t{12}, int64_t{-100},
                               int64_t{30000}, int64_t{-8000000}, int64_t{2000000000},
                               int64_t{-5000000000}, std::string(70, 'y')}));
  w.key(2, "set").len(2).str("m1").str("m2");
  w.key(11, "is16").str(intset(2, {-5, 1, 300}));
  w.key(11, "is32").str(intset(4, {-70000, 70000}));
  w.key(11, "is64").str(intset(8, {-5000000000, 5000000000}));
  w.select(3);
  w.expire_ms(1999999999123).key(3, "zt").len(4).str("a").byte(3).out += "1.5";
  w.str("b").byte(254).str("c").byte(255).str("d").byte(253);
  w.key(12, "zz").str(
      ziplist({std::string("m"), std::string("2.5"), std::string("n"), int64_t{-3}}));
  w.key(4, "h").len(1).str("f").str("v");
  w.key(9, "zm").str(zipmap({{"f1", "v1"}, {std::string(300, 'k'), "v2"}}));
  w.key(13, "hz").str(ziplist({std::string("f"), int64_t{1}}));
  w.key(14, "ql").len(2).str(ziplist({std::string("a")})).str(ziplist({int64_t{7}}));
  Recorder r = parse(w.finish());
  CHECK(r.version == 6);
  CHECK(r.aux["redis-ver"] == "3.2.0");
  CHECK(r.checksum);
  const std::vector<std::string> want = {
      "db0 raw string: hello",
      "db0 i8 string: -7",
      "db0 i16 string: -30000",
      "db0 i32 string: 2000000000",
      "db0 lzf string: abcabcabcabcabcabcabcabcabcabc",
      "db0 linked list exp=2000000000000: a b 5",
      "db0 zl list: x 0 12 -100 30000 -8000000 2000000000 -5000000000 " + std::string(70, 'y'),
      "db0 set set: m1 m2",
      "db0 is16 set: -5 1 300",
      "db0 is32 set: -70000 70000",
      "db0 is64 set: -5000000000 5000000000",
      "db3 zt zset exp=1999999999123: a=1.5 b=inf c=-inf d=nan",
      "db3 zz zset: m=2.5 n=-3",
      "db3 h hash: f=v",
      "db3 zm hash: f1=v1 " + std::string(300, 'k') + "=v2",
      "db3 hz hash: f=1",
      "db3 ql list: a 7",
  };
  CHECK(r.lines == want);
}

TEST_CASE("rdb parser: RDB versions 7 to 12, listpacks, quicklist2, functions, modules, HFE",
          "[rdb]") {
  for (int v = 7; v <= 12; ++v) {
    RdbWriter w(v);
    w.aux("redis-ver", "x").byte(247).len(module_id("auxmod-01", 1)).len(2).len(2);
    w.len(5).str("blob").len(0);  // module aux: one string, then EOF
    w.byte(245).str("#!lua name=lib1\nredis.register_function('f', function() return 1 end)");
    w.select(0).resize(5, 0).byte(244).len(100).len(5).len(0);
    w.byte(248).len(77).key(16, "hl").str(listpack({std::string("f"), int64_t{-4000}}));
    w.byte(249).byte(3).key(17, "zl").str(listpack({std::string("m"), std::string("0.5")}));
    w.key(20, "sl").str(listpack({int64_t{1}, std::string("two")}));
    w.key(18, "q2").len(2).len(1).str(std::string(100, 'p')).len(2).str(listpack({int64_t{9}}));
    w.key(5, "z2").len(1).str("m");
    w.u64le(0x3ff8000000000000ull);  // 1.5
    // A module value: id, an unsigned int, a double, a string, EOF.
    w.key(7, "mod")
        .len(module_id("testmod01", 3))
        .len(2)
        .len(42)
        .len(4)
        .u64le(0)
        .len(5)
        .str("payload");
    w.len(0);
    // Field-expiry hashes (Redis 7.4 GA): relative TTLs after a base; listpack-ex triples.
    w.key(24, "hm").u64le(1000).len(2).len(0).str("a").str("1").len(11).str("b").str("2");
    w.key(25, "hx").u64le(1000);
    w.str(listpack({std::string("c"), std::string("3"), int64_t{5000}, std::string("d"),
                    std::string("4"), int64_t{0}}));
    Recorder r = parse(w.finish());
    CHECK(r.version == v);
    CHECK(r.functions.size() == 1);
    CHECK(r.module_aux == std::vector<std::string>{"auxmod-01"});
    const std::vector<std::string> want = {
        "db0 hl hash: f=-4000",
        "db0 zl zset: m=0.5",
        "db0 sl set: 1 two",
        "db0 q2 list: " + std::string(100, 'p') + " 9",
        "db0 z2 zset: m=1.5",
        "db0 mod module: testmod01/" + std::to_string(1 + 9 + 2 + 9 + 2 + 8),
        "db0 hm hash: a=1 b=2@1010",
        "db0 hx hash: c=3@5000 d=4",
    };
    CHECK(r.lines == want);
  }
}

TEST_CASE("rdb parser: the same value in every encoding digests the same", "[rdb]") {
  auto digests = [](const std::string& file) {
    std::map<std::string, std::string> d;
    RdbInput in(file, "t");
    RdbDigestVisitor v([&d](const RdbKeyState& s) { d[s.key] = s.digest.hex(); });
    RdbParser(in, v).run();
    return d;
  };
  RdbWriter w(9);
  w.select(0);
  w.key(1, "l1").len(3).str("a").str("12").str("b");
  w.key(10, "l2").str(ziplist({std::string("a"), int64_t{12}, std::string("b")}));
  w.key(14, "l3")
      .len(2)
      .str(ziplist({std::string("a")}))
      .str(ziplist({int64_t{12}, std::string("b")}));
  w.key(2, "s1").len(3).str("3").str("-1").str("70000");
  w.key(11, "s2").str(intset(4, {-1, 3, 70000}));
  w.key(3, "z1").len(2).str("a").byte(3).out += "0.5";
  w.str("b").byte(1).out += "2";
  w.key(12, "z2").str(ziplist({std::string("b"), int64_t{2}, std::string("a"), std::string(".5")}));
  w.key(4, "h1").len(2).str("f").str("1").str("g").str("x");
  w.key(9, "h2").str(zipmap({{"g", "x"}, {"f", "1"}}));
  w.key(13, "h3").str(ziplist({std::string("f"), int64_t{1}, std::string("g"), std::string("x")}));
  w.key(0, "t1").str(std::string(30, 'a'));
  w.key(0, "t2").lzf_str(
      "\x01"
      "aa"
      "\xe0\x13\x01",
      30);
  auto d = digests(w.finish());
  // Keys holding the same value in two encodings.
  const std::pair<const char*, const char*> same[] = {{"l1", "l2"}, {"l1", "l3"}, {"s1", "s2"},
                                                      {"z1", "z2"}, {"h1", "h2"}, {"h1", "h3"},
                                                      {"t1", "t2"}};
  for (const auto& [a, b] : same) {
    INFO(a << " " << b);
    CHECK(d[a] == d[b]);
  }
  CHECK(d["l1"] != d["s1"]);
}

TEST_CASE("rdb parser: checksums, versions and one-line errors with the offset", "[rdb]") {
  RdbWriter w(9);
  w.select(0).key(0, "k").str("v");
  std::string good = w.finish();
  CHECK(parse(good).checksum);

  SECTION("a file written without a checksum is read") {
    RdbWriter z(9);
    z.select(0).key(0, "k").str("v");
    CHECK_FALSE(parse(z.finish(false)).checksum);
  }
  SECTION("a wrong checksum names its offset") {
    std::string bad = good;
    bad[bad.size() - 1] ^= 1;
    CHECK_THAT(error_of(bad), ContainsSubstring("offset " + std::to_string(bad.size() - 8)) &&
                                  ContainsSubstring("checksum"));
  }
  SECTION("a flipped value byte fails the checksum") {
    std::string bad = good;
    bad[good.find('v')] = 'w';
    CHECK_THAT(error_of(bad), ContainsSubstring("checksum"));
  }
  SECTION("truncated") {
    CHECK_THAT(error_of(good.substr(0, 14)), ContainsSubstring("test.rdb: offset 14: expected") &&
                                                 ContainsSubstring("truncated"));
  }
  SECTION("not an RDB file, or a version we do not read") {
    CHECK_THAT(error_of("HELLO0009"), ContainsSubstring("offset 0"));
    CHECK_THAT(error_of("REDIS0013\xff"), ContainsSubstring("RDB version from 1 to 12"));
    CHECK_THAT(error_of("REDIS00x9\xff"), ContainsSubstring("offset 5"));
  }
  SECTION("an unknown value type") {
    std::string bad = "REDIS0009\x08";
    CHECK_THAT(error_of(bad), ContainsSubstring("offset 9") && ContainsSubstring("got 8"));
  }
  SECTION("a corrupt ziplist inside a key names a file offset") {
    RdbWriter c(9);
    std::string zl = ziplist({std::string("a")});
    zl[zl.size() - 1] = 0x05;  // no end marker
    c.select(0).key(10, "l").str(zl);
    CHECK_THAT(error_of(c.finish()), ContainsSubstring("in a ziplist"));
  }
  SECTION("an LZF length that cannot fit") {
    RdbWriter c(9);
    c.select(0).key(0, "k").lzf_str("\x00x", 1000000);
    CHECK_THAT(error_of(c.finish()), ContainsSubstring("LZF"));
  }
}

namespace {

struct StreamRecorder : RdbVisitor {
  std::vector<std::string> ev;
  std::string entry;
  void stream_entry_begin(std::string_view id) override { entry = std::string(id) + ":"; }
  void stream_entry_field(std::string_view f, std::string_view v) override {
    entry += " " + std::string(f) + "=" + std::string(v);
  }
  void stream_entry_end() override { ev.push_back(entry); }
  void stream_meta(const RdbStreamMeta& m) override {
    ev.push_back("meta " + std::to_string(m.length) + " " + m.last_id + " " +
                 m.first_id.value_or("-") + " " + m.max_deleted_id.value_or("-") + " " +
                 std::to_string(m.entries_added.value_or(-1)));
  }
  void stream_group(std::string_view n, std::string_view last, std::optional<int64_t> er) override {
    ev.push_back("group " + std::string(n) + " " + std::string(last) + " " +
                 std::to_string(er.value_or(-1)));
  }
  void stream_pending(std::string_view g, std::string_view id, std::string_view c,
                      int64_t n) override {
    ev.push_back("pel " + std::string(g) + " " + std::string(id) + " " + std::string(c) + " " +
                 std::to_string(n));
  }
  void stream_consumer(std::string_view g, std::string_view c) override {
    ev.push_back("consumer " + std::string(g) + " " + std::string(c));
  }
};

}  // namespace

TEST_CASE("rdb parser: streams (listpack nodes, deleted entries, groups, PEL, consumers)",
          "[rdb]") {
  for (uint8_t type : {uint8_t{19}, uint8_t{21}}) {
    RdbWriter w(type == 19 ? 10 : 11);
    w.select(0);
    write_sample_stream(w, type, "st");
    StreamRecorder r;
    const std::string bytes = w.finish();
    RdbInput in(bytes, "t");
    RdbParser(in, r).run();
    const std::vector<std::string> want = {
        "1-0: f=v1",         "3-5: a=b c=d",    "meta 2 3-5 1-0 2-0 3", "group g 3-5 2",
        "pel g 1-0 alice 2", "pel g 3-5 bob 1", "consumer g alice",     "consumer g bob"};
    CHECK(r.ev == want);
  }
}

TEST_CASE("rdb parser: the sample file parses from memory and from a file alike", "[rdb]") {
  const std::string bytes = sample_rdb();
  Recorder r = parse(bytes);
  CHECK(r.lines.size() == 10);
  CHECK(r.checksum);
  const std::string path = "/tmp/migcheck-rdb-parser-test-" + std::to_string(::getpid()) + ".rdb";
  { std::ofstream(path, std::ios::binary) << bytes; }
  Recorder f;
  RdbInput in(path);
  RdbParser(in, f).run();
  std::remove(path.c_str());
  CHECK(f.lines == r.lines);
  CHECK(in.size() == bytes.size());
  CHECK_THROWS_AS(RdbInput("/nonexistent/dump.rdb"), Error);
}

namespace {

// What a visitor taking element pieces is told: whole elements as the
// Recorder renders them, pieces as "<" then each string's size and the
// bytes received ("3:abc", or "[n]" per piece of a long one), then ">" with the score and field
// expiry.
struct PieceRecorder : Recorder {
  bool pieces = true;
  size_t biggest_piece = 0;
  uint64_t string_size = 0;
  bool takes_element_pieces() const override { return pieces; }
  void element_begin() override { cur += " <"; }
  void element_string(uint64_t n) override {
    string_size = n;
    cur += " " + std::to_string(n) + ":";
  }
  void element_bytes(std::string_view b) override {
    biggest_piece = std::max(biggest_piece, b.size());
    cur += string_size > 16 ? "[" + std::to_string(b.size()) + "]" : std::string(b);
  }
  void element_end(double score, int64_t exp) override {
    cur += " >" + std::to_string(static_cast<int>(score)) + "@" + std::to_string(exp);
  }
};

}  // namespace

TEST_CASE("rdb parser: big elements of the plain encodings come in pieces, digested as whole",
          "[rdb]") {
  // A 3 MiB LZF string (bigger than the 1 MiB piece) and a raw 1.5 MiB one.
  std::mt19937_64 rng(17);
  const auto z = random_lzf(rng, 3 << 20, 20);
  std::string big;
  REQUIRE(lzf_decompress(z.packed, z.raw_len, big));
  const std::string raw(3 << 19, 'r');
  auto lzf = [&](RdbWriter& w) -> RdbWriter& { return w.lzf_str(z.packed, z.raw_len); };
  RdbWriter w(12);
  w.select(0);
  lzf(w.key(1, "list").len(3).str("a")).str("b");  // a linked list: a, big, b
  w.key(18, "q2").len(2).len(2).str(listpack({std::string("x")})).len(1);
  lzf(w);  // quicklist2: a listpack node, then a PLAIN node
  lzf(w.key(2, "set").len(2)).str(raw);
  lzf(w.key(5, "zset").len(1)).u64le(0x4004000000000000ull);  // 2.5
  lzf(w.key(4, "hv").len(2).str("f").str("1").str("g"));      // value big
  lzf(w.key(4, "hf").len(1)).str("v");                        // field big
  // Hash with field TTLs: the big value's field expires at 1000 + 5 - 1.
  lzf(w.key(24, "hm").u64le(1000).len(1).len(5).str("e"));
  const std::string file = w.finish();

  // The element callbacks: whole small ones, pieces for the big ones.
  PieceRecorder r;
  {
    RdbInput in(file, "t");
    RdbParser(in, r).run();
  }
  const std::string b = std::to_string(big.size()) + ":";
  auto pieces_of = [](const std::string& line) {
    std::string out;
    for (size_t at = line.find('['); at != std::string::npos; at = line.find('[', at + 1))
      out += line.substr(at, line.find(']', at) - at + 1);
    return out;
  };
  REQUIRE(r.lines.size() == 7);
  CHECK(r.lines[0].starts_with("db0 list list: a < " + b));
  CHECK(r.lines[0].ends_with(" >0@0 b"));
  CHECK(r.lines[1].starts_with("db0 q2 list: x < " + b));
  CHECK(r.lines[2].starts_with("db0 set set: < " + b));
  CHECK(r.lines[2].ends_with(" < 1572864:[1048576][524288] >0@0"));
  CHECK(r.lines[3].ends_with(" >2@0"));
  CHECK(r.lines[4].starts_with("db0 hv hash: f=1 < 1:g " + b));  // the field first, whole
  CHECK(r.lines[5].starts_with("db0 hf hash: < " + b));
  CHECK(r.lines[5].ends_with(" 1:v >0@0"));  // then the value, whole
  CHECK(r.lines[6].ends_with(" >0@1004"));
  // The pieces of the big string: 1 MiB each, the last one shorter.
  CHECK(pieces_of(r.lines[0]) ==
        "[1048576][1048576][1048576][" + std::to_string(big.size() - 3 * (1 << 20)) + "]");
  CHECK(r.biggest_piece == 1 << 20);

  // A visitor that does not take pieces gets the same elements whole.
  PieceRecorder whole;
  whole.pieces = false;
  {
    RdbInput in(file, "t");
    RdbParser(in, whole).run();
  }
  CHECK(whole.lines[0] == "db0 list list: a " + big + " b");
  CHECK(whole.lines[4] == "db0 hv hash: f=1 g=" + big);
  CHECK(whole.biggest_piece == 0);

  // The digests of the elements hashed in pieces are those of the whole
  // values, the expired field left out as a server would.
  std::map<std::string, Digest128> d;
  RdbDigestOptions opts;
  opts.now_ms = 1004;
  RdbDigestVisitor v([&d](const RdbKeyState& s) { d[s.key] = s.digest; }, opts);
  {
    RdbInput in(file, "t");
    RdbParser(in, v).run();
  }
  CollectionDigest list(ValueKind::List), q2(ValueKind::List), set(ValueKind::Set),
      zset(ValueKind::Zset), hv(ValueKind::Hash), hf(ValueKind::Hash), hm(ValueKind::Hash);
  list.add_list_element("a");
  list.add_list_element(big);
  list.add_list_element("b");
  q2.add_list_element("x");
  q2.add_list_element(big);
  set.add_set_member(big);
  set.add_set_member(raw);
  zset.add_zset_member(big, 2.5);
  hv.add_hash_field("f", "1");
  hv.add_hash_field("g", big);
  hf.add_hash_field(big, "v");
  CHECK(d["list"] == list.finish());
  CHECK(d["q2"] == q2.finish());
  CHECK(d["set"] == set.finish());
  CHECK(d["zset"] == zset.finish());
  CHECK(d["hv"] == hv.finish());
  CHECK(d["hf"] == hf.finish());
  CHECK(d["hm"] == hm.finish());  // its one field has expired

  SECTION("bad LZF data deep in a big element: one line naming its offset") {
    RdbWriter c(9);
    c.select(0).key(4, "h").len(1).str("f");
    const uint64_t at = c.out.size();
    c.lzf_str(z.packed, z.raw_len - 1000);  // the data writes past the declared size
    const std::string bad = c.finish();
    // Read whole, the element's LZF data is rejected at its start...
    CHECK_THAT(error_of(bad), ContainsSubstring("offset " + std::to_string(at + 11) +
                                                ": expected a hash value (valid LZF data)"));
    // ...in pieces, at the token at fault.
    const std::string e = error_of<PieceRecorder>(bad);
    CHECK_THAT(e, ContainsSubstring("a hash value") && ContainsSubstring("writes past its end"));
    CHECK(e.find('\n') == std::string::npos);
    // The offset is the token's, past the LZF header and deep in the data.
    const uint64_t off = std::stoull(e.substr(e.find("offset ") + 7));
    CHECK(off > at + z.packed.size() / 2);
    CHECK(off < at + 10 + z.packed.size());
  }
  SECTION("a file cut inside a big element") {
    RdbWriter c(9);
    c.select(0).key(1, "l").len(1);
    lzf(c);
    const std::string cut = c.out.substr(0, c.out.size() - 100);
    CHECK_THAT(error_of<PieceRecorder>(cut),
               ContainsSubstring("a list element") && ContainsSubstring("truncated"));
  }
}

TEST_CASE("rdb parser: module values are the file's bytes; their LZF strings are checked",
          "[rdb]") {
  // A module value holding an LZF string bigger than a piece.
  std::mt19937_64 rng(5);
  const auto z = random_lzf(rng, 2 << 20, 20);
  auto file = [&](size_t declared) {
    RdbWriter w(9);
    w.select(0).key(7, "mod").len(module_id("testmod01", 3)).len(5);
    w.lzf_str(z.packed, declared).len(0);
    return w.finish();
  };
  const std::string good = file(z.raw_len);
  // The value is compared by its serialised bytes as the file holds them
  // (compressed): type byte, module id, the opcode, the LZF string, EOF.
  const size_t body = 1 + 9 + 1 + (1 + 5 + 5 + z.packed.size()) + 1;
  Recorder r = parse(good);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0] == "db0 mod module: testmod01/" + std::to_string(body));
  Digest128 got;
  RdbInput in(good, "t");
  RdbDigestVisitor v([&got](const RdbKeyState& s) { got = s.digest; });
  RdbParser(in, v).run();
  // The type byte comes before the key name, the rest after it.
  const std::string serialized = "\x07" + good.substr(good.find("mod") + 3, body - 1);
  CHECK(got == digest_dump("testmod01", frame_dump_payload(serialized, 0)));
  // A visitor taking module pieces gets the same bytes, in pieces, never whole.
  struct ModulePieces : RdbVisitor {
    std::string name, bytes;
    int ends = 0;
    bool takes_module_pieces() const override { return true; }
    void module_begin(std::string_view n) override { name = n; }
    void module_bytes(std::string_view b) override { bytes += b; }
    void module_end() override { ++ends; }
    void module_value(std::string_view, std::string_view) override { ends += 100; }
  } mp;
  RdbInput in2(good, "t");
  RdbParser(in2, mp).run();
  CHECK(mp.name == "testmod01");
  CHECK(mp.bytes == serialized);
  CHECK(mp.ends == 1);
  // Bad LZF inside the module value is found (in pieces) and named.
  CHECK_THAT(error_of(file(z.raw_len + 5)),
             ContainsSubstring("module value data") && ContainsSubstring("LZF output"));
}

// Unit tests of the canonical digests (src/digest.h): no servers involved.
#include <catch2/catch_test_macros.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "digest.h"

using namespace migcheck;

namespace {

Digest128 hash_of(const std::vector<std::pair<std::string, std::string>>& fields) {
  CollectionDigest d(ValueKind::Hash);
  for (const auto& [f, v] : fields) d.add_hash_field(f, v);
  return d.finish();
}

Digest128 set_of(const std::vector<std::string>& members) {
  CollectionDigest d(ValueKind::Set);
  for (const auto& m : members) d.add_set_member(m);
  return d.finish();
}

Digest128 list_of(const std::vector<std::string>& elements) {
  CollectionDigest d(ValueKind::List);
  for (const auto& e : elements) d.add_list_element(e);
  return d.finish();
}

Digest128 zset_of(const std::vector<std::pair<std::string, std::string>>& members) {
  CollectionDigest d(ValueKind::Zset);
  for (const auto& [m, s] : members) REQUIRE(d.add_zset_member(m, s));
  return d.finish();
}

}  // namespace

TEST_CASE("digest: hashes, sets and sorted sets are order-independent", "[digest]") {
  CHECK(hash_of({{"a", "1"}, {"b", "2"}, {"c", "3"}}) ==
        hash_of({{"c", "3"}, {"a", "1"}, {"b", "2"}}));
  CHECK(set_of({"x", "y", "z", "1"}) == set_of({"1", "z", "y", "x"}));
  CHECK(zset_of({{"a", "1"}, {"b", "2"}}) == zset_of({{"b", "2"}, {"a", "1"}}));
}

TEST_CASE("digest: distinct values give distinct digests", "[digest]") {
  // One field, one value, one member, one score, one element.
  CHECK(hash_of({{"a", "1"}, {"b", "2"}}) != hash_of({{"a", "1"}, {"b", "3"}}));
  CHECK(hash_of({{"a", "1"}, {"b", "2"}}) != hash_of({{"a", "1"}, {"c", "2"}}));
  CHECK(set_of({"a", "b"}) != set_of({"a", "c"}));
  CHECK(set_of({"a", "b"}) != set_of({"a"}));
  CHECK(zset_of({{"a", "1"}, {"b", "2"}}) != zset_of({{"a", "1"}, {"b", "2.5"}}));
  CHECK(list_of({"a", "b", "c"}) != list_of({"a", "b", "d"}));
  CHECK(digest_string("hello") != digest_string("hellp"));
  // Field/value boundaries are part of the canonical form.
  CHECK(hash_of({{"ab", "c"}}) != hash_of({{"a", "bc"}}));
  CHECK(list_of({"ab", "c"}) != list_of({"a", "bc"}));
  // Empty containers of every kind, and types holding the same bytes, differ.
  CHECK(set_of({"a"}) != list_of({"a"}));
  CHECK(hash_of({{"a", "b"}}) != list_of({"a", "b"}));
  CHECK(digest_string("a") != list_of({"a"}));
  CHECK(digest_string("") != set_of({}));
  // Binary bytes matter.
  CHECK(digest_string(std::string("a\0b", 3)) != digest_string(std::string("a\0c", 3)));
  CHECK(digest_string(std::string("a\0", 2)) != digest_string("a"));
}

TEST_CASE("digest: lists are ordered", "[digest]") {
  CHECK(list_of({"a", "b", "c"}) == list_of({"a", "b", "c"}));
  CHECK(list_of({"a", "b", "c"}) != list_of({"c", "b", "a"}));
  CHECK(list_of({"a", "a", "b"}) != list_of({"a", "b", "a"}));
  CHECK(list_of({"a", "a"}) != list_of({"a"}));
}

TEST_CASE("digest: sorted-set scores are hashed as doubles, not text", "[digest]") {
  CHECK(zset_of({{"m", "1"}}) == zset_of({{"m", "1.0"}}));
  CHECK(zset_of({{"m", "1"}}) == zset_of({{"m", "1e0"}}));
  CHECK(zset_of({{"m", "1"}}) == zset_of({{"m", "+1"}}));
  // %.17g (Redis <= 7.0) and the shortest round-trip form (7.2+) of 0.1.
  CHECK(zset_of({{"m", "0.10000000000000001"}}) == zset_of({{"m", "0.1"}}));
  CHECK(zset_of({{"m", "3.0000000000000004"}}) != zset_of({{"m", "3"}}));
  CHECK(zset_of({{"m", "-0"}}) == zset_of({{"m", "0"}}));
  CHECK(zset_of({{"m", "inf"}}) == zset_of({{"m", "+inf"}}));
  CHECK(zset_of({{"m", "inf"}}) != zset_of({{"m", "-inf"}}));
  CHECK(zset_of({{"m", "1e308"}}) != zset_of({{"m", "inf"}}));

  CHECK(parse_score("1.5").value() == 1.5);
  CHECK(std::isinf(parse_score("-inf").value()));
  CHECK_FALSE(parse_score("abc"));
  CHECK_FALSE(parse_score("1.5x"));
  CHECK_FALSE(parse_score(""));
  CHECK(canonical_score_bits(-0.0) == canonical_score_bits(0.0));
  CHECK(canonical_score_bits(std::numeric_limits<double>::quiet_NaN()) ==
        canonical_score_bits(-std::numeric_limits<double>::quiet_NaN()));
  CollectionDigest z(ValueKind::Zset);
  CHECK_FALSE(z.add_zset_member("m", "not-a-number"));
  CHECK(z.count() == 0);
}

TEST_CASE("digest: strings digested in pieces equal the one-shot digest", "[digest]") {
  std::string big;
  for (int i = 0; i < 100000; ++i) big += static_cast<char>(i * 7);
  const Digest128 whole = digest_string(big);
  for (size_t piece : {1u, 7u, 4096u, 65536u, 99999u}) {
    StringDigest d;
    for (size_t pos = 0; pos < big.size(); pos += piece)
      d.update(std::string_view(big).substr(pos, piece));
    CHECK(d.size() == big.size());
    CHECK(d.finish() == whole);
  }
  StringDigest empty;
  CHECK(empty.finish() == digest_string(""));
  CHECK(whole.hex().size() == 32);
  CHECK(whole.hex().find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("digest: streams cover entries, metadata, groups and PELs but not their order of arrival",
          "[digest]") {
  auto make = [](bool swap_groups, std::optional<int64_t> entries_read, int64_t delivery,
                 std::string owner, std::string last_delivered) {
    StreamDigest s;
    s.begin_entry("1-1");
    s.add_entry_field("f", "v");
    s.end_entry();
    s.begin_entry("2-0");
    s.add_entry_field("a", "b");
    s.add_entry_field("c", "d");
    s.end_entry();
    s.set_meta("2-0", 2, std::string_view("0-0"));
    auto g1 = [&] {
      s.set_group("g1", last_delivered, entries_read);
      s.add_pending("g1", "1-1", owner, delivery);
      s.add_consumer("g1", "alice");
      s.add_consumer("g1", "bob");
    };
    auto g2 = [&] { s.set_group("g2", "0-0", std::nullopt); };
    if (swap_groups) {
      g2();
      g1();
    } else {
      g1();
      g2();
    }
    return s.finish();
  };
  const Digest128 base = make(false, 1, 1, "alice", "1-1");
  CHECK(make(true, 1, 1, "alice", "1-1") == base);  // group order does not matter
  CHECK(make(false, std::nullopt, 1, "alice", "1-1") != base);
  CHECK(make(false, 1, 2, "alice", "1-1") != base);  // delivery count
  CHECK(make(false, 1, 1, "bob", "1-1") != base);    // PEL owner
  CHECK(make(false, 1, 1, "alice", "2-0") != base);  // last-delivered-id

  StreamDigest a, b;
  a.begin_entry("1-0");
  a.add_entry_field("f", "v");
  a.end_entry();
  a.set_meta("1-0", 1, std::nullopt);
  b.begin_entry("1-0");
  b.add_entry_field("f", "w");
  b.end_entry();
  b.set_meta("1-0", 1, std::nullopt);
  CHECK(a.finish() != b.finish());
  StreamDigest c = a;
  c.set_meta("5-0", 1, std::nullopt);  // XSETID moved the last id
  CHECK(a.finish() != c.finish());
}

TEST_CASE("digest: DUMP payloads are compared without their version and CRC trailer", "[digest]") {
  const std::string body("\x00\x05hello", 7);
  const std::string v10 = body + std::string("\x0a\x00", 2) + std::string(8, '\x11');
  const std::string v11 = body + std::string("\x0b\x00", 2) + std::string(8, '\x22');
  CHECK(digest_dump("mymodule", v10) == digest_dump("mymodule", v11));
  CHECK(digest_dump("mymodule", v10) != digest_dump("other", v10));
  CHECK(digest_dump("mymodule", v10) != digest_string(body));
}

TEST_CASE("digest: a DUMP body in pieces digests as the whole payload", "[digest]") {
  std::string body;
  for (int i = 0; i < 3000; ++i) body += static_cast<char>(i * 11);
  const std::string payload = body + std::string(10, '\x7f');  // any trailer
  for (size_t piece : {1u, 999u, 5000u}) {
    DumpDigest d("mytype-01");
    for (size_t pos = 0; pos < body.size(); pos += piece)
      d.update(std::string_view(body).substr(pos, piece));
    CHECK(d.finish() == digest_dump("mytype-01", payload));
  }
  DumpDigest other("mytype-02");
  other.update(body);
  CHECK(other.finish() != digest_dump("mytype-01", payload));
}

TEST_CASE("digest: IdSet deduplicates ids, zero included, across growth", "[digest]") {
  IdSet set;
  for (uint64_t i = 0; i < 5000; ++i) CHECK(set.insert(i * 0x9e3779b97f4a7c15ull));
  for (uint64_t i = 0; i < 5000; ++i) CHECK_FALSE(set.insert(i * 0x9e3779b97f4a7c15ull));
  CHECK(set.size() == 5000);
  CHECK(set.insert(element_id("a")));
  CHECK_FALSE(set.insert(element_id("a")));
  set.clear();
  CHECK(set.size() == 0);
  CHECK(set.insert(0));
  CHECK(set.insert(element_id("a")));
}

TEST_CASE("digest: an element hashed in pieces equals the whole element", "[digest]") {
  // Short (XXH3's one-shot paths below 240 bytes) and long elements, empty included.
  std::string big;
  for (int i = 0; i < 5000; ++i) big += static_cast<char>(i * 13);
  for (const std::string& a : {std::string(), std::string("f"), std::string(200, 'x'), big}) {
    for (const std::string& b : {std::string("v"), big}) {
      // Each string fed in pieces of `piece` bytes after its size.
      auto feed = [](ElementPieces& p, std::string_view s, size_t piece) {
        p.begin_string(s.size());
        for (size_t pos = 0; pos < s.size(); pos += piece) p.update(s.substr(pos, piece));
      };
      for (size_t piece : {1u, 100u, 4096u}) {
        INFO("sizes " << a.size() << "/" << b.size() << ", pieces of " << piece);
        // A list [b, a]: each element seeded with its position.
        ElementPieces p;
        CollectionDigest whole(ValueKind::List), pieces(ValueKind::List);
        whole.add_list_element(b);
        whole.add_list_element(a);
        for (const std::string* e : {&b, &a}) {
          p.begin(ValueKind::List, pieces.count());
          feed(p, *e, piece);
          pieces.add_elements(1, p.finish());
        }
        CHECK(pieces.finish() == whole.finish());

        CHECK((p.begin(ValueKind::Set, 7), feed(p, a, piece), p.finish()) == set_member_element(a));
        p.begin(ValueKind::Hash, 0);
        feed(p, a, piece);
        feed(p, b, piece);
        CHECK(p.finish() == hash_field_element(a, b));
        CollectionDigest z(ValueKind::Zset), zp(ValueKind::Zset);
        z.add_zset_member(a, -2.5);
        p.begin(ValueKind::Zset, 0);
        feed(p, a, piece);
        zp.add_elements(1, p.finish(-2.5));
        CHECK(zp.finish() == z.finish());
        // The same bytes with another score, or split differently between a
        // field and its value, hash differently.
        p.begin(ValueKind::Zset, 0);
        feed(p, a, piece);
        CollectionDigest zq(ValueKind::Zset);
        zq.add_elements(1, p.finish(2.5));
        CHECK(zq.finish() != z.finish());
        p.begin(ValueKind::Hash, 0);
        feed(p, a + b.substr(0, 1), piece);
        feed(p, b.substr(1), piece);
        CHECK(p.finish() != hash_field_element(a, b));
      }
    }
  }
}

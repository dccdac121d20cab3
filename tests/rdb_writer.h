// A tiny snapshot (.rdb) writer for tests, built from the format description
// (Redis rdb.h, ziplist.c, listpack.c, intset.c, zipmap.c): hand-made files
// for encodings and RDB versions no server in reach writes any more. Not
// used by migcheck itself.
#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "crc64.h"

namespace migcheck::test {

using Elem = std::variant<std::string, int64_t>;

inline void put_le(std::string& o, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) o.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_be(std::string& o, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) o.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

class RdbWriter {
 public:
  explicit RdbWriter(int version) {
    char h[16];
    std::snprintf(h, sizeof h, "REDIS%04d", version);
    out.append(h, 9);
  }
  std::string out;

  RdbWriter& byte(uint8_t b) {
    out.push_back(static_cast<char>(b));
    return *this;
  }
  RdbWriter& len(uint64_t n) {
    if (n < 64) return byte(static_cast<uint8_t>(n));
    if (n < 16384) return byte(static_cast<uint8_t>(0x40 | (n >> 8))).byte(n & 0xff);
    if (n <= 0xffffffffull) {
      byte(0x80);
      put_be(out, n, 4);
    } else {
      byte(0x81);
      put_be(out, n, 8);
    }
    return *this;
  }
  RdbWriter& str(std::string_view s) {
    len(s.size());
    out.append(s);
    return *this;
  }
  // Integer-encoded string: width 1, 2 or 4 bytes.
  RdbWriter& int_str(int64_t v, int width) {
    byte(static_cast<uint8_t>(0xc0 | (width == 1 ? 0 : width == 2 ? 1 : 2)));
    put_le(out, static_cast<uint64_t>(v), width);
    return *this;
  }
  // An LZF string from already-compressed bytes.
  RdbWriter& lzf_str(std::string_view compressed, size_t raw_len) {
    byte(0xc3).len(compressed.size()).len(raw_len);
    out.append(compressed);
    return *this;
  }
  RdbWriter& aux(std::string_view k, std::string_view v) { return byte(250).str(k).str(v); }
  RdbWriter& select(int db) { return byte(254).len(db); }
  RdbWriter& resize(uint64_t keys, uint64_t expires) { return byte(251).len(keys).len(expires); }
  RdbWriter& expire_ms(int64_t ms) {
    byte(252);
    put_le(out, static_cast<uint64_t>(ms), 8);
    return *this;
  }
  RdbWriter& expire_sec(int64_t s) {
    byte(253);
    put_le(out, static_cast<uint64_t>(s), 4);
    return *this;
  }
  RdbWriter& key(uint8_t type, std::string_view name) { return byte(type).str(name); }
  RdbWriter& u64le(uint64_t v) {
    put_le(out, v, 8);
    return *this;
  }
  // EOF opcode and the checksum (or 0 when `checksum` is false; none before v5).
  std::string finish(bool checksum = true) {
    byte(255);
    const int version = std::stoi(out.substr(5, 4));
    if (version >= 5) put_le(out, checksum ? crc64(0, out) : 0, 8);
    return out;
  }
};

// One integer encoding of a ziplist or listpack entry: a value in [lo, hi]
// is written as the byte `tag`, then `bytes` bytes little-endian.
struct TaggedInt {
  int64_t lo, hi;
  uint8_t tag;
  int bytes;
};

// Appends `v` to `ent` in the first of `encodings` whose range holds it.
inline void put_tagged_int(std::string& ent, int64_t v,
                           std::initializer_list<TaggedInt> encodings) {
  for (const TaggedInt& e : encodings)
    if (v >= e.lo && v <= e.hi) {
      ent.push_back(static_cast<char>(e.tag));
      put_le(ent, static_cast<uint64_t>(v), e.bytes);
      return;
    }
}

// How a ziplist or listpack string entry gives its length: one byte
// `small_tag | len` below 64, two bytes `mid_tag | len >> 8`, `len & 0xff`
// below `mid_limit`, else `big_tag` and 4 bytes (big- or little-endian).
struct StrHeader {
  uint8_t small_tag;
  size_t mid_limit;
  uint8_t mid_tag;
  uint8_t big_tag;
  bool big_endian;
};

inline void put_str_header(std::string& ent, size_t len, const StrHeader& h) {
  if (len < 64) {
    ent.push_back(static_cast<char>(h.small_tag | len));
  } else if (len < h.mid_limit) {
    ent.push_back(static_cast<char>(h.mid_tag | (len >> 8)));
    ent.push_back(static_cast<char>(len & 0xff));
  } else {
    ent.push_back(static_cast<char>(h.big_tag));
    if (h.big_endian)
      put_be(ent, len, 4);
    else
      put_le(ent, len, 4);
  }
}

inline std::string ziplist(const std::vector<Elem>& elems) {
  std::string body;
  size_t prev = 0, last = 10;
  for (const Elem& e : elems) {
    std::string ent;
    if (prev < 254)
      ent.push_back(static_cast<char>(prev));
    else {
      ent.push_back(static_cast<char>(0xfe));
      put_le(ent, prev, 4);
    }
    if (auto* s = std::get_if<std::string>(&e)) {
      put_str_header(ent, s->size(), {0x00, 16384, 0x40, 0x80, true});
      ent += *s;
    } else {
      int64_t v = std::get<int64_t>(e);
      if (v >= 0 && v <= 12)
        ent.push_back(static_cast<char>(0xf1 + v));
      else
        put_tagged_int(ent, v,
                       {{INT8_MIN, INT8_MAX, 0xfe, 1},
                        {INT16_MIN, INT16_MAX, 0xc0, 2},
                        {-(1 << 23), (1 << 23) - 1, 0xf0, 3},
                        {INT32_MIN, INT32_MAX, 0xd0, 4},
                        {INT64_MIN, INT64_MAX, 0xe0, 8}});
    }
    last = 10 + body.size();
    prev = ent.size();
    body += ent;
  }
  std::string zl;
  put_le(zl, 10 + body.size() + 1, 4);
  put_le(zl, last, 4);
  put_le(zl, elems.size(), 2);
  return zl + body + '\xff';
}

inline std::string listpack(const std::vector<Elem>& elems) {
  std::string body;
  for (const Elem& e : elems) {
    std::string ent;
    if (auto* s = std::get_if<std::string>(&e)) {
      put_str_header(ent, s->size(), {0x80, 4096, 0xe0, 0xf0, false});
      ent += *s;
    } else {
      int64_t v = std::get<int64_t>(e);
      if (v >= 0 && v <= 127) {
        ent.push_back(static_cast<char>(v));
      } else if (v >= -4096 && v <= 4095) {
        uint64_t u = static_cast<uint64_t>(v) & 0x1fff;
        ent.push_back(static_cast<char>(0xc0 | (u >> 8)));
        ent.push_back(static_cast<char>(u & 0xff));
      } else {
        put_tagged_int(ent, v,
                       {{INT16_MIN, INT16_MAX, 0xf1, 2},
                        {-(1 << 23), (1 << 23) - 1, 0xf2, 3},
                        {INT32_MIN, INT32_MAX, 0xf3, 4},
                        {INT64_MIN, INT64_MAX, 0xf4, 8}});
      }
    }
    // back-length: size of encoding + data, 7 bits per byte
    uint64_t l = ent.size();
    int n = l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
    for (int i = 0; i < n; ++i) ent.push_back(static_cast<char>((l >> (7 * i)) & 0x7f));
    body += ent;
  }
  std::string lp;
  put_le(lp, 6 + body.size() + 1, 4);
  put_le(lp, elems.size(), 2);
  return lp + body + '\xff';
}

inline std::string intset(int width, const std::vector<int64_t>& vals) {
  std::string s;
  put_le(s, width, 4);
  put_le(s, vals.size(), 4);
  for (int64_t v : vals) put_le(s, static_cast<uint64_t>(v), width);
  return s;
}

inline std::string zipmap(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string s(1, static_cast<char>(kv.size()));
  auto l = [&s](size_t n) {
    if (n < 254)
      s.push_back(static_cast<char>(n));
    else {
      s.push_back(static_cast<char>(254));
      put_le(s, n, 4);
    }
  };
  for (const auto& [k, v] : kv) {
    l(k.size());
    s += k;
    l(v.size());
    s.push_back(2);  // two free bytes after the value
    s += v;
    s += "..";
  }
  return s + '\xff';
}

// A stream of RDB type 19 or 21: one node with master fields {f}, entries
// 1-0 {f: v1}, 2-0 (deleted) and 3-5 {a: b, c: d}; group "g" (last 3-5,
// entries-read 2) with pending 1-0 (alice, 2 deliveries) and 3-5 (bob, 1).
inline void write_sample_stream(RdbWriter& w, uint8_t type, std::string_view key) {
  w.key(type, key).len(1);
  std::string node;
  put_be(node, 1, 8);
  put_be(node, 0, 8);
  w.str(node);
  w.str(listpack({int64_t{2},        int64_t{1},          int64_t{1},       std::string("f"),
                  int64_t{0},        int64_t{2},          int64_t{0},       int64_t{0},
                  std::string("v1"), int64_t{4},          int64_t{3},       int64_t{1},
                  int64_t{0},        std::string("gone"), int64_t{4},       int64_t{0},
                  int64_t{2},        int64_t{5},          int64_t{2},       std::string("a"),
                  std::string("b"),  std::string("c"),    std::string("d"), int64_t{8}}));
  w.len(2).len(3).len(5);                  // length, last id
  w.len(1).len(0).len(2).len(0).len(3);    // first id, max deleted id, entries added
  w.len(1).str("g").len(3).len(5).len(2);  // one group, last delivered, entries read
  auto raw = [&w](uint64_t ms, uint64_t seq) {
    put_be(w.out, ms, 8);
    put_be(w.out, seq, 8);
  };
  w.len(2);
  raw(1, 0);
  w.u64le(1000).len(2);
  raw(3, 5);
  w.u64le(2000).len(1);
  w.len(2).str("alice").u64le(1000);
  if (type >= 21) w.u64le(1000);
  w.len(1);
  raw(1, 0);
  w.str("bob").u64le(2000);
  if (type >= 21) w.u64le(2000);
  w.len(1);
  raw(3, 5);
}

// A file with most encodings, for fuzzing and round trips.
inline std::string sample_rdb() {
  RdbWriter w(11);
  w.aux("redis-ver", "7.2.0").aux("ctime", "1700000000").select(0).resize(9, 1);
  w.key(0, "str").str("hello");
  w.key(0, "int").int_str(300, 2);
  w.key(0, "lzf").lzf_str(std::string("\x02"
                                      "abc"
                                      "\xe0\x12\x02",
                                      7),
                          30);
  w.expire_ms(4000000000000).key(1, "ll").len(2).str("a").str("b");
  w.key(10, "zl").str(ziplist({std::string("x"), int64_t{-100}, int64_t{70000}}));
  w.key(18, "q2").len(2).len(1).str("plain").len(2).str(listpack({int64_t{9}, std::string("s")}));
  w.key(11, "is").str(intset(2, {1, 2, 3}));
  w.key(17, "zlp").str(listpack({std::string("m"), std::string("1.5")}));
  w.key(9, "zm").str(zipmap({{"f", "v"}}));
  w.select(1);
  write_sample_stream(w, 21, "st");
  return w.finish();
}

}  // namespace migcheck::test

// Ziplist, listpack, intset and zipmap walkers; every read is bounds-checked
// against the blob, so no corrupt blob reads outside it.
#include "rdb_encodings.h"

#include <charconv>
#include <span>

#include "errors.h"

namespace migcheck {
namespace {

class Cursor {
 public:
  Cursor(std::string_view blob, const BlobContext& ctx, const char* kind)
      : b_(blob), ctx_(ctx), kind_(kind) {}
  size_t pos() const { return pos_; }
  bool at_end() const { return pos_ >= b_.size(); }
  [[noreturn]] void fail(std::string_view expected) const {
    uint64_t off = ctx_.base + pos_;
    throw RdbError(std::string(ctx_.file) + ": offset " + std::to_string(off) + ": expected " +
                       std::string(expected) + " in a " + kind_,
                   off);
  }
  void need(uint64_t n, std::string_view what) const {
    if (n > b_.size() - pos_) fail(what);
  }
  uint8_t u8(std::string_view what) {
    need(1, what);
    return static_cast<uint8_t>(b_[pos_++]);
  }
  // Little-endian unsigned of n bytes.
  uint64_t le(size_t n, std::string_view what) {
    need(n, what);
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | static_cast<uint8_t>(b_[pos_ + i]);
    pos_ += n;
    return v;
  }
  uint64_t be(size_t n, std::string_view what) {
    need(n, what);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(b_[pos_ + i]);
    pos_ += n;
    return v;
  }
  std::string_view bytes(uint64_t n, std::string_view what) {
    need(n, what);
    auto s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void skip(uint64_t n, std::string_view what) { bytes(n, what); }
  // The 4-byte total size that opens a ziplist or a listpack: the blob's own.
  void total_size() {
    const std::string kind(kind_);
    if (le(4, "the " + kind + " size") != b_.size())
      fail("a " + kind + " size equal to the blob's (" + std::to_string(b_.size()) + ")");
  }

 private:
  std::string_view b_;
  const BlobContext& ctx_;
  const char* kind_;
  size_t pos_ = 0;
};

int64_t sign_extend(uint64_t v, int bits) {
  const uint64_t m = 1ull << (bits - 1);
  return static_cast<int64_t>((v ^ m) - m);
}

// A little-endian two's-complement int of n bytes (1, 2, 3, 4 or 8).
int64_t le_int(Cursor& c, size_t n) {
  static constexpr std::string_view kWhat[] = {"", "an int8", "an int16", "an int24", "an int32",
                                               "", "",        "",         "an int64"};
  return sign_extend(c.le(n, kWhat[n]), static_cast<int>(8 * n));
}

// The fixed-size int encodings of a ziplist entry and of a listpack element:
// the encoding byte and the int's size in bytes.
struct IntEncoding {
  uint8_t code;
  uint8_t size;
};
constexpr IntEncoding kZiplistInts[] = {{0xc0, 2}, {0xd0, 4}, {0xe0, 8}, {0xf0, 3}, {0xfe, 1}};
constexpr IntEncoding kListpackInts[] = {{0xf1, 2}, {0xf2, 3}, {0xf3, 4}, {0xf4, 8}};

// The size of the int that encoding byte `code` announces; 0 when it
// announces none.
size_t int_size(std::span<const IntEncoding> table, uint8_t code) {
  for (const auto& e : table)
    if (e.code == code) return e.size;
  return 0;
}

void emit_int(const ElementSink& sink, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  sink(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
}

}  // namespace

void decode_ziplist(std::string_view blob, const BlobContext& ctx, const ElementSink& sink) {
  Cursor c(blob, ctx, "ziplist");
  c.total_size();
  c.le(4, "the tail offset");
  c.le(2, "the entry count");
  for (;;) {
    uint8_t prev = c.u8("an entry or the end marker");
    if (prev == 0xff) break;
    if (prev == 0xfe) c.skip(4, "a 4-byte previous length");
    const uint8_t enc = c.u8("an entry encoding");
    switch (enc >> 6) {
      case 0:
        sink(c.bytes(enc & 0x3f, "string bytes"));
        continue;
      case 1:
        sink(c.bytes(((enc & 0x3fu) << 8) | c.u8("a 14-bit length"), "string bytes"));
        continue;
      case 2:
        if (enc != 0x80) c.fail("a string encoding");
        sink(c.bytes(c.be(4, "a 32-bit length"), "string bytes"));
        continue;
      default:
        break;
    }
    if (size_t n = int_size(kZiplistInts, enc))
      emit_int(sink, le_int(c, n));
    else if (enc >= 0xf1 && enc <= 0xfd)
      emit_int(sink, (enc & 0x0f) - 1);
    else
      c.fail("an entry encoding");
  }
  if (!c.at_end()) c.fail("nothing after the end marker");
}

void decode_listpack(std::string_view blob, const BlobContext& ctx, const ElementSink& sink) {
  Cursor c(blob, ctx, "listpack");
  c.total_size();
  c.le(2, "the element count");
  for (;;) {
    const size_t start = c.pos();
    const uint8_t b = c.u8("an element or the end marker");
    if (b == 0xff) break;
    if ((b & 0x80) == 0) {
      emit_int(sink, b);
    } else if ((b & 0xc0) == 0x80) {
      sink(c.bytes(b & 0x3f, "string bytes"));
    } else if ((b & 0xe0) == 0xc0) {
      emit_int(sink, sign_extend(((b & 0x1fu) << 8) | c.u8("a 13-bit int"), 13));
    } else if ((b & 0xf0) == 0xe0) {
      sink(c.bytes(((b & 0x0fu) << 8) | c.u8("a 12-bit length"), "string bytes"));
    } else if (b == 0xf0) {
      sink(c.bytes(c.le(4, "a 32-bit length"), "string bytes"));
    } else if (size_t n = int_size(kListpackInts, b)) {
      emit_int(sink, le_int(c, n));
    } else {
      c.fail("an element encoding");
    }
    // The back-length: the size of encoding + data in 7-bit groups.
    const uint64_t l = c.pos() - start;
    const int back = l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
    c.skip(back, "an element's back-length");
  }
  if (!c.at_end()) c.fail("nothing after the end marker");
}

void decode_intset(std::string_view blob, const BlobContext& ctx, const ElementSink& sink) {
  Cursor c(blob, ctx, "intset");
  const uint64_t width = c.le(4, "the intset encoding");
  if (width != 2 && width != 4 && width != 8) c.fail("an intset encoding of 2, 4 or 8");
  const uint64_t n = c.le(4, "the intset length");
  if (n * width != blob.size() - 8) c.fail("as many bytes as the intset length says");
  for (uint64_t i = 0; i < n; ++i)
    emit_int(sink, sign_extend(c.le(width, "an integer"), static_cast<int>(width * 8)));
}

void decode_zipmap(std::string_view blob, const BlobContext& ctx, const ElementSink& sink) {
  Cursor c(blob, ctx, "zipmap");
  c.u8("the zipmap length");
  auto len = [&](std::string_view what) -> uint64_t {
    uint8_t b = c.u8(what);
    if (b < 254) return b;
    if (b == 254) return c.le(4, what);
    return UINT64_MAX;  // 255: the end
  };
  for (;;) {
    uint64_t klen = len("a field length or the end marker");
    if (klen == UINT64_MAX) break;
    std::string_view field = c.bytes(klen, "field bytes");
    uint64_t vlen = len("a value length");
    if (vlen == UINT64_MAX) c.fail("a value length");
    uint8_t free = c.u8("the free byte count");
    std::string_view value = c.bytes(vlen, "value bytes");
    c.skip(free, "free bytes");
    sink(field);
    sink(value);
  }
  if (!c.at_end()) c.fail("nothing after the end marker");
}

void decode_blob(BlobFormat format, std::string_view blob, const BlobContext& ctx,
                 const ElementSink& sink) {
  switch (format) {
    case BlobFormat::Ziplist:
      return decode_ziplist(blob, ctx, sink);
    case BlobFormat::Listpack:
      return decode_listpack(blob, ctx, sink);
    case BlobFormat::Intset:
      return decode_intset(blob, ctx, sink);
    case BlobFormat::Zipmap:
      return decode_zipmap(blob, ctx, sink);
  }
}

}  // namespace migcheck

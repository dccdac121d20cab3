// Buffered snapshot reading: offsets, CRC64, RDB lengths, strings and LZF.
#include "rdb_reader.h"

#include <sys/stat.h>

#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "crc64.h"
#include "errors.h"
#include "lzf_stream.h"

namespace migcheck {
namespace {

constexpr size_t kBuffer = 1 << 20;
// Compressed bytes read at a time by the streaming LZF decoder.
constexpr size_t kLzfPiece = 64 << 10;
// The largest string a server accepts (proto-max-bulk-len can be raised up
// to this): a declared size above it is corruption, not data.
constexpr uint64_t kMaxString = 1ull << 32;

}  // namespace

bool lzf_decompress(std::string_view in, size_t out_len, std::string& out) {
  const size_t start = out.size();
  out.resize(start + out_len);
  char* o = out.data() + start;
  char* const o_end = o + out_len;
  const auto* ip = reinterpret_cast<const unsigned char*>(in.data());
  const auto* const ip_end = ip + in.size();
  while (ip < ip_end) {
    unsigned ctrl = *ip++;
    if (ctrl < 32) {  // a literal run of ctrl + 1 bytes
      size_t n = ctrl + 1;
      if (static_cast<size_t>(ip_end - ip) < n || static_cast<size_t>(o_end - o) < n) break;
      std::memcpy(o, ip, n);
      o += n;
      ip += n;
      continue;
    }
    size_t n = ctrl >> 5;  // a back reference
    if (n == 7) {
      if (ip >= ip_end) break;
      n += *ip++;
    }
    if (ip >= ip_end) break;
    size_t back = ((ctrl & 0x1f) << 8) + *ip++ + 1;
    n += 2;
    if (back > static_cast<size_t>(o - (out.data() + start)) || static_cast<size_t>(o_end - o) < n)
      break;
    const char* ref = o - back;
    for (size_t i = 0; i < n; ++i) o[i] = ref[i];  // may overlap: byte by byte
    o += n;
  }
  if (ip != ip_end || o != o_end) {
    out.resize(start);
    return false;
  }
  return true;
}

std::string frame_dump_payload(std::string_view object, uint16_t rdb_version) {
  std::string p(object);
  p.push_back(static_cast<char>(rdb_version & 0xff));
  p.push_back(static_cast<char>(rdb_version >> 8));
  uint64_t c = crc64(0, p);
  for (int i = 0; i < 8; ++i) p.push_back(static_cast<char>((c >> (8 * i)) & 0xff));
  return p;
}

RdbInput::RdbInput(const std::string& path) : name_(path) {
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fileno(file_), &st) != 0 || !S_ISREG(st.st_mode)) {
    std::fclose(file_);
    file_ = nullptr;
    throw Error(path + ": not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  own_.resize(kBuffer);
  buf_ = own_.data();
}

RdbInput::RdbInput(std::string_view bytes, std::string name)
    : name_(std::move(name)), buf_(bytes.data()), len_(bytes.size()), size_(bytes.size()) {}

RdbInput::~RdbInput() {
  if (file_) std::fclose(file_);
}

void RdbInput::fail(std::string_view expected) const {
  fail_at(offset(), expected);
}

void RdbInput::fail_at(uint64_t off, std::string_view expected) const {
  throw RdbError(name_ + ": offset " + std::to_string(off) + ": expected " + std::string(expected) +
                     (off >= size_ ? " (file truncated)" : ""),
                 off);
}

void RdbInput::fail_short(uint64_t n, std::string_view what) const {
  // fail_at() adds "(file truncated)" itself when nothing is left.
  fail(std::string(what) + " of " + std::to_string(n) + " bytes, but " +
       std::to_string(remaining()) + " are left" + (remaining() ? " (file truncated)" : ""));
}

void RdbInput::flush_consumed() {
  if (pos_ > done_) {
    std::string_view part(buf_ + done_, pos_ - done_);
    crc_ = crc64(crc_, part);
    if (capture_) capture_->append(part);
    if (capture_sink_) capture_sink_(part);
    done_ = pos_;
  }
}

bool RdbInput::fill(size_t need) {
  if (len_ - pos_ >= need) return true;
  if (!file_) return false;
  flush_consumed();
  const size_t keep = len_ - pos_;
  std::memmove(own_.data(), own_.data() + pos_, keep);
  base_ += pos_;
  pos_ = done_ = 0;
  len_ = keep;
  while (len_ < own_.size()) {
    size_t got = std::fread(own_.data() + len_, 1, own_.size() - len_, file_);
    if (got == 0) {
      if (std::ferror(file_)) fail(std::string("readable bytes (") + std::strerror(errno) + ")");
      break;
    }
    len_ += got;
  }
  return len_ - pos_ >= need;
}

const char* RdbInput::take(size_t n, std::string_view what) {
  if (!fill(n)) fail_short(n, what);
  const char* p = buf_ + pos_;
  pos_ += n;
  return p;
}

uint8_t RdbInput::u8(std::string_view what) {
  return static_cast<uint8_t>(*take(1, what));
}

uint32_t RdbInput::u32le(std::string_view what) {
  const auto* p = reinterpret_cast<const unsigned char*>(take(4, what));
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

uint64_t RdbInput::u64le(std::string_view what) {
  const auto* p = reinterpret_cast<const unsigned char*>(take(8, what));
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void RdbInput::read(char* dst, size_t n, std::string_view what) {
  if (n > remaining()) fail_short(n, what);
  while (n > 0) {
    if (pos_ == len_ && !fill(1)) fail(what);
    size_t k = std::min(n, len_ - pos_);
    std::memcpy(dst, buf_ + pos_, k);
    pos_ += k;
    dst += k;
    n -= k;
  }
}

void RdbInput::append(std::string& out, uint64_t n, std::string_view what) {
  if (n > remaining()) fail_short(n, what);
  const size_t start = out.size();
  out.resize(start + n);
  read(out.data() + start, n, what);
}

void RdbInput::skip(uint64_t n, std::string_view what) {
  if (n > remaining()) fail_short(n, what);
  while (n > 0) {
    if (pos_ == len_ && !fill(1)) fail(what);
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, len_ - pos_));
    pos_ += k;
    n -= k;
  }
}

RdbInput::Len RdbInput::len_or_encoding(std::string_view what) {
  const uint8_t b = u8(what);
  switch (b >> 6) {
    case 0:
      return {b & 0x3fu, false};
    case 1:
      return {((b & 0x3fu) << 8) | u8(what), false};
    case 3:
      return {b & 0x3fu, true};
    default:
      break;
  }
  if (b == 0x80) {
    const auto* p = reinterpret_cast<const unsigned char*>(take(4, what));
    return {(uint64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3], false};
  }
  if (b == 0x81) {
    const auto* p = reinterpret_cast<const unsigned char*>(take(8, what));
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return {v, false};
  }
  fail_at(offset() - 1,
          std::string(what) + " (a length; byte " + std::to_string(b) + " is no length encoding)");
}

uint64_t RdbInput::length(std::string_view what) {
  const uint64_t at = offset();
  Len l = len_or_encoding(what);
  if (l.encoded) fail_at(at, std::string(what) + " (a length, not a string encoding)");
  return l.value;
}

void RdbInput::string_encoded(uint64_t enc, std::string& out, std::string_view what) {
  char num[24];
  int64_t v = 0;
  switch (enc) {
    case 0:
      v = static_cast<int8_t>(u8(what));
      break;
    case 1: {
      const auto* p = reinterpret_cast<const unsigned char*>(take(2, what));
      v = static_cast<int16_t>(p[0] | (p[1] << 8));
      break;
    }
    case 2:
      v = static_cast<int32_t>(u32le(what));
      break;
    case 3:
      return lzf_whole(lzf_header(what), out, what);
    default:
      fail_at(offset() - 1,
              std::string(what) + " (a string encoding 0-3, got " + std::to_string(enc) + ")");
  }
  auto r = std::to_chars(num, num + sizeof num, v);
  out.append(num, r.ptr);
}

void RdbInput::string(std::string& out, std::string_view what) {
  out.clear();
  Len l = len_or_encoding(what);
  if (l.encoded) return string_encoded(l.value, out, what);
  if (l.value > kMaxString) fail(what);
  append(out, l.value, what);
}

RdbInput::LzfHeader RdbInput::lzf_header(std::string_view what) {
  LzfHeader h;
  h.clen = length(what);
  const uint64_t at = offset();
  h.ulen = length(what);
  // An LZF token expands to at most 264 bytes from 2 input bytes.
  if (h.ulen > kMaxString || h.ulen > h.clen * 132 + 32)
    fail_at(at, std::string(what) + " (an LZF size that fits its compressed length)");
  if (h.clen > remaining()) fail_short(h.clen, what);
  return h;
}

void RdbInput::lzf_whole(const LzfHeader& h, std::string& out, std::string_view what) {
  std::string packed;
  append(packed, h.clen, what);
  if (!lzf_decompress(packed, static_cast<size_t>(h.ulen), out))
    fail_at(offset() - h.clen, std::string(what) + " (valid LZF data)");
}

void RdbInput::lzf_stream(const LzfHeader& h, const Sink& sink, size_t chunk,
                          std::string_view what) {
  const uint64_t at = offset();
  LzfStream z(h.ulen, chunk, sink);
  auto check = [&](const std::optional<LzfFault>& f) {
    if (f) fail_at(at + f->at, std::string(what) + " (" + f->what + ")");
  };
  read_chunks(
      h.clen, kLzfPiece, [&](std::string_view piece) { check(z.feed(piece)); }, what);
  check(z.finish());
}

void RdbInput::read_chunks(uint64_t n, size_t chunk, const Sink& sink, std::string_view what) {
  if (n > remaining()) fail_short(n, what);
  std::string buf;
  while (n > 0) {
    const size_t k = static_cast<size_t>(std::min<uint64_t>(n, chunk));
    buf.clear();
    append(buf, k, what);
    sink(buf);
    n -= k;
  }
}

void RdbInput::string_chunks(const Sink& sink, size_t chunk, std::string_view what) {
  std::string buf;
  if (string_or_chunks(buf, chunk, nullptr, sink, what)) sink(buf);
}

bool RdbInput::string_or_chunks(std::string& out, size_t chunk,
                                const std::function<void(uint64_t)>& begin, const Sink& sink,
                                std::string_view what) {
  out.clear();
  const Len l = len_or_encoding(what);
  if (l.encoded && l.value != 3) {
    string_encoded(l.value, out, what);
    return true;
  }
  if (!l.encoded) {
    if (l.value <= chunk) {
      append(out, l.value, what);
      return true;
    }
    if (begin) begin(l.value);
    read_chunks(l.value, chunk, sink, what);
    return false;
  }
  // A value bigger than one chunk is decompressed as it is read.
  const LzfHeader h = lzf_header(what);
  if (h.ulen <= chunk) {
    lzf_whole(h, out, what);
    return true;
  }
  if (begin) begin(h.ulen);
  lzf_stream(h, sink, chunk, what);
  return false;
}

double RdbInput::text_double(std::string_view what) {
  const uint8_t n = u8(what);
  if (n == 253) return std::numeric_limits<double>::quiet_NaN();
  if (n == 254) return std::numeric_limits<double>::infinity();
  if (n == 255) return -std::numeric_limits<double>::infinity();
  char text[256];
  read(text, n, what);
  text[n] = 0;
  char* end = nullptr;
  double d = std::strtod(text, &end);
  if (n == 0 || end != text + n) fail_at(offset() - n, std::string(what) + " (a number)");
  return d;
}

double RdbInput::binary_double(std::string_view what) {
  return std::bit_cast<double>(u64le(what));
}

uint64_t RdbInput::crc() {
  flush_consumed();
  return crc_;
}

void RdbInput::begin_capture(std::string* out) {
  flush_consumed();
  capture_ = out;
}

void RdbInput::begin_capture(Sink sink) {
  flush_consumed();
  capture_sink_ = std::move(sink);
}

void RdbInput::end_capture() {
  flush_consumed();
  capture_ = nullptr;
  capture_sink_ = nullptr;
}

}  // namespace migcheck

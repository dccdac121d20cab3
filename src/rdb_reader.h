// The byte source of a snapshot (.rdb) file: buffered reading with the offset
// of every byte, the running CRC64 of what was consumed, RDB length and
// integer encodings, strings (raw, integer-encoded, LZF-compressed) and
// doubles. Memory is one fixed buffer plus the one string being read; every
// declared length is checked against what is left of the input before
// anything is allocated, so a corrupt length cannot make us allocate. Errors
// are RdbError naming the byte offset and what was expected there.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "noncopyable.h"

namespace migcheck {

// Decompresses LZF `in` into exactly `out_len` bytes appended to `out`;
// false when the data is not valid LZF of that length.
bool lzf_decompress(std::string_view in, size_t out_len, std::string& out);

// A DUMP payload for RESTORE: the serialised object (type byte + value as
// the RDB writer encodes it), the RDB version (2 bytes LE) and the CRC64.
std::string frame_dump_payload(std::string_view object, uint16_t rdb_version);

class RdbInput : NonCopyable {
 public:
  // Reads a file; throws Error (not RdbError) when it cannot be opened.
  explicit RdbInput(const std::string& path);
  // Reads bytes held in memory (tests, fuzzing), which must outlive this;
  // `name` prefixes errors.
  RdbInput(std::string_view bytes, std::string name);
  ~RdbInput();

  uint64_t offset() const { return base_ + pos_; }
  uint64_t size() const { return size_; }
  uint64_t remaining() const { return size_ - offset(); }
  const std::string& name() const { return name_; }

  [[noreturn]] void fail(std::string_view expected) const;
  [[noreturn]] void fail_at(uint64_t offset, std::string_view expected) const;
  // A declared size larger than what is left of the input.
  [[noreturn]] void fail_short(uint64_t n, std::string_view what) const;

  uint8_t u8(std::string_view what);
  uint32_t u32le(std::string_view what);
  uint64_t u64le(std::string_view what);
  void read(char* dst, size_t n, std::string_view what);
  // Appends n bytes to out.
  void append(std::string& out, uint64_t n, std::string_view what);
  void skip(uint64_t n, std::string_view what);

  // An RDB length; `encoded` is set (and the value is the encoding number)
  // for the special string encodings (int8/16/32, LZF).
  struct Len {
    uint64_t value = 0;
    bool encoded = false;
  };
  Len len_or_encoding(std::string_view what);
  uint64_t length(std::string_view what);  // a plain length; an encoding is an error
  // A string object into `out` (replaced): raw, integer-encoded as decimal
  // text (as a server returns it), or LZF-decompressed.
  void string(std::string& out, std::string_view what);
  using Sink = std::function<void(std::string_view)>;
  // The same, in pieces of at most `chunk` bytes, so a big value never sits
  // in memory whole: an LZF string longer than a chunk is decompressed as
  // its compressed bytes are read (lzf_stream.h); a shorter one, or an
  // integer, comes in one piece.
  void string_chunks(const Sink& sink, size_t chunk, std::string_view what);
  // A string of at most `chunk` bytes into `out` (replaced; returns true),
  // or a longer one (raw or LZF) in pieces: `begin` with its size, which the
  // header tells before any byte, then its bytes to `sink` (returns false).
  bool string_or_chunks(std::string& out, size_t chunk, const std::function<void(uint64_t)>& begin,
                        const Sink& sink, std::string_view what);
  // Text doubles of the old zset type (length byte, 253 nan, 254 +inf, 255 -inf).
  double text_double(std::string_view what);
  double binary_double(std::string_view what);

  // CRC64 of every byte consumed so far.
  uint64_t crc();
  // While capturing, every consumed byte is also appended to `*out`.
  void begin_capture(std::string* out);
  // The same to `sink`, in pieces of at most the buffer's size (1 MiB).
  void begin_capture(Sink sink);
  void end_capture();

 private:
  bool fill(size_t need);  // makes `need` bytes available at pos_, false at the end
  void flush_consumed();   // CRC (and capture) of bytes consumed in the buffer
  const char* take(size_t n, std::string_view what);
  void string_encoded(uint64_t enc, std::string& out, std::string_view what);
  // The sizes after RDB_ENC_LZF, checked against each other and the input.
  struct LzfHeader {
    uint64_t clen = 0, ulen = 0;
  };
  LzfHeader lzf_header(std::string_view what);
  void lzf_whole(const LzfHeader& h, std::string& out, std::string_view what);
  void lzf_stream(const LzfHeader& h, const Sink& sink, size_t chunk, std::string_view what);
  // The next n bytes in pieces of at most `chunk` bytes.
  void read_chunks(uint64_t n, size_t chunk, const Sink& sink, std::string_view what);

  std::string name_;
  FILE* file_ = nullptr;
  std::vector<char> own_;  // the buffer when reading a file
  const char* buf_ = nullptr;
  size_t len_ = 0;     // bytes valid in buf_
  size_t pos_ = 0;     // next byte in buf_
  uint64_t base_ = 0;  // file offset of buf_[0]
  uint64_t size_ = 0;  // total input size
  size_t done_ = 0;    // buf_[0..done_) already added to crc_ (and capture)
  uint64_t crc_ = 0;
  std::string* capture_ = nullptr;
  Sink capture_sink_;
};

}  // namespace migcheck

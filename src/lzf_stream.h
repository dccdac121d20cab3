// Streaming LZF decompression (the RDB_ENC_LZF string encoding) in bounded
// memory: compressed bytes are fed in pieces of any size as they are read,
// and the output is handed on in chunks. An LZF back-reference reaches at
// most 8 KiB behind the output position, so only that window of the output
// is kept, whatever the size of the value. Validation is the whole-buffer
// decoder's (lzf_decompress in rdb_reader.h): a back-reference before the
// start of the output, output past or short of the declared length and a
// token cut by the end of the data are faults naming the token's offset.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace migcheck {

struct LzfFault {
  uint64_t at = 0;   // offset in the compressed data of the token at fault
  std::string what;  // what was expected there
};

class LzfStream {
 public:
  using Sink = std::function<void(std::string_view)>;
  // The furthest an LZF back-reference reaches behind the output position.
  static constexpr size_t kWindow = 8192;

  // Decompresses to exactly `out_len` bytes, handed to `sink` in chunks of
  // `chunk` bytes (the last one may be shorter; chunk >= 1).
  LzfStream(uint64_t out_len, size_t chunk, Sink sink);

  // The next compressed bytes; a fault ends the decompression.
  std::optional<LzfFault> feed(std::string_view in);
  // The end of the compressed data: the rest of the output goes to the sink.
  std::optional<LzfFault> finish();

 private:
  std::optional<LzfFault> token(const unsigned char* t, uint64_t at);
  void put(const unsigned char* literal, size_t back, size_t n);
  void flush();

  uint64_t out_len_;
  size_t chunk_;
  Sink sink_;
  std::string buf_;      // the window (hist_ bytes) then output not yet handed on
  size_t hist_ = 0;      // output already handed on, kept for back-references
  size_t fill_ = 0;      // bytes valid in buf_
  uint64_t total_ = 0;   // output bytes so far
  uint64_t in_off_ = 0;  // compressed bytes fed so far
  std::string partial_;  // the start of a token cut by the end of a piece
};

}  // namespace migcheck

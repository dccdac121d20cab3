// Streaming LZF decompression with an 8 KiB output window.
#include "lzf_stream.h"

#include <algorithm>
#include <cstring>

namespace migcheck {
namespace {

// The size of the token starting with `ctrl`: a literal run is the control
// byte and ctrl + 1 bytes; a back-reference is 2 bytes, 3 when its length
// needs the extra byte (ctrl >> 5 == 7).
size_t token_size(unsigned char ctrl) {
  if (ctrl < 32) return ctrl + 2u;
  return (ctrl >> 5) == 7 ? 3 : 2;
}

}  // namespace

LzfStream::LzfStream(uint64_t out_len, size_t chunk, Sink sink)
    : out_len_(out_len), chunk_(std::max<size_t>(chunk, 1)), sink_(std::move(sink)) {
  // The window plus one chunk, or less when the whole output is smaller.
  buf_.resize(static_cast<size_t>(std::min<uint64_t>(out_len_, kWindow + chunk_)));
}

std::optional<LzfFault> LzfStream::feed(std::string_view in) {
  const auto* ip = reinterpret_cast<const unsigned char*>(in.data());
  const auto* const end = ip + in.size();
  const uint64_t base = in_off_;
  in_off_ += in.size();
  if (!partial_.empty()) {
    // Complete the token cut by the end of the last piece.
    const size_t need = token_size(static_cast<unsigned char>(partial_[0])) - partial_.size();
    const size_t k = std::min(need, in.size());
    partial_.append(reinterpret_cast<const char*>(ip), k);
    ip += k;
    if (k < need) return std::nullopt;
    const uint64_t at = base - (partial_.size() - k);
    auto fault = token(reinterpret_cast<const unsigned char*>(partial_.data()), at);
    partial_.clear();
    if (fault) return fault;
  }
  while (ip < end) {
    const size_t n = token_size(*ip);
    if (static_cast<size_t>(end - ip) < n) {
      partial_.assign(reinterpret_cast<const char*>(ip), static_cast<size_t>(end - ip));
      return std::nullopt;
    }
    const uint64_t at =
        base + static_cast<uint64_t>(ip - reinterpret_cast<const unsigned char*>(in.data()));
    if (auto fault = token(ip, at)) return fault;
    ip += n;
  }
  return std::nullopt;
}

std::optional<LzfFault> LzfStream::token(const unsigned char* t, uint64_t at) {
  const unsigned ctrl = t[0];
  size_t n = 0, back = 0;
  if (ctrl < 32) {
    n = ctrl + 1;
  } else {
    n = (ctrl >> 5) == 7 ? 7 + t[1] + 2 : (ctrl >> 5) + 2;
    back = ((ctrl & 0x1f) << 8) + t[(ctrl >> 5) == 7 ? 2 : 1] + 1;
    if (back > total_)
      return LzfFault{at, "an LZF back-reference inside the output; it reaches " +
                              std::to_string(back) + " bytes back, " + std::to_string(total_) +
                              " were written"};
  }
  if (n > out_len_ - total_)
    return LzfFault{
        at, "LZF output of " + std::to_string(out_len_) + " bytes; this token writes past its end"};
  put(back ? nullptr : t + 1, back, n);
  return std::nullopt;
}

// Appends n bytes, copied from `literal` or from `back` bytes behind the
// output position (byte by byte: the source may overlap what is written).
void LzfStream::put(const unsigned char* literal, size_t back, size_t n) {
  total_ += n;
  while (n > 0) {
    if (fill_ - hist_ == chunk_) flush();
    const size_t k = std::min(n, hist_ + chunk_ - fill_);
    char* o = buf_.data() + fill_;
    if (literal) {
      std::memcpy(o, literal, k);
      literal += k;
    } else {
      const char* ref = o - back;
      for (size_t i = 0; i < k; ++i) o[i] = ref[i];
    }
    fill_ += k;
    n -= k;
  }
}

// Hands on the output past the window and keeps its last kWindow bytes.
void LzfStream::flush() {
  if (fill_ == hist_) return;
  sink_(std::string_view(buf_.data() + hist_, fill_ - hist_));
  const size_t keep = std::min(fill_, kWindow);
  std::memmove(buf_.data(), buf_.data() + fill_ - keep, keep);
  hist_ = fill_ = keep;
}

std::optional<LzfFault> LzfStream::finish() {
  if (!partial_.empty())
    return LzfFault{in_off_ - partial_.size(),
                    "a complete LZF token; the compressed data ends inside one"};
  if (total_ < out_len_)
    return LzfFault{in_off_, "LZF output of " + std::to_string(out_len_) +
                                 " bytes; the compressed data ends after " +
                                 std::to_string(total_)};
  flush();
  return std::nullopt;
}

}  // namespace migcheck

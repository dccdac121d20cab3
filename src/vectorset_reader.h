// Reading one vector set (Redis 8's built-in "vectorset" type) for its
// semantic digest, as a few pipelined steps of the KeyReader:
//   1. VINFO (quantisation, dimension, projection, size) and
//      VRANDMEMBER key <huge count>: a positive count beyond the size returns
//      every element exactly once (names only);
//   2+. per chunk of names: VEMB key name RAW (the stored vector bytes, norm
//      and int8 range) and VGETATTR key name, then VCARD: an element removed
//      or a size that moved while read makes the key Unstable.
// Only read commands are sent. The whole list of element names is held for
// the read (names only; vectors and attributes are read a chunk at a time).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reply.h"
#include "vectorset_digest.h"

namespace migcheck {

class VectorSetRead {
 public:
  // Commands of the next step are given to this, one call per command.
  using Emit = std::function<void(std::initializer_list<std::string_view>)>;
  // `chunk`: elements per step after the first (each costs two commands).
  explicit VectorSetRead(size_t chunk);

  void commands(std::string_view key, const Emit& emit);

  enum class Status { More, Done, Unstable, Error };
  struct Outcome {
    Status status = Status::More;
    std::string detail;            // Unstable: why
    std::string_view command;      // Error: the command refused
    const Reply* error = nullptr;  // Error: its reply (points into the replies given)
  };
  // The replies of the step just sent by commands(), in order.
  Outcome feed(std::span<const Reply> replies);

  Digest128 digest() const { return digest_.finish(); }
  int64_t size() const { return size_; }
  bool chunked() const { return steps_ > 2; }

 private:
  size_t chunk_;
  bool have_names_ = false;
  std::vector<std::string> names_;
  size_t pos_ = 0;     // next name to read
  size_t step_n_ = 0;  // names asked for in the step in flight
  int64_t size_ = 0;
  int steps_ = 0;
  VectorSetDigest digest_;
};

}  // namespace migcheck

// The semantic digest of a Redis 8 vector set (module type "vectorset"): its
// dimension, quantisation and projection, and an order-independent sum over
// its elements of (name, stored vector as VEMB RAW gives it, attributes).
// The DUMP body of a vector set serialises its HNSW graph, which depends on
// insertion order and random levels, so equal sets dump differently; this
// digest does not. The graph parameters (M, EF) are not part of the value.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "digest.h"

namespace migcheck {

class VectorSetDigest {
 public:
  // From VINFO: quant-type ("int8", "bin", "f32"...), vector-dim and
  // projection-input-dim (0 without REDUCE).
  void set_header(std::string_view quant, int64_t dim, int64_t projection_dim);
  // One element: `raw` are the parts of VEMB key name RAW (quantisation,
  // the stored bytes, the L2 norm, and the range for int8), hashed as given;
  // `attributes` the JSON of VGETATTR (nullopt: none). Any order.
  void add_element(std::string_view name, std::span<const std::string_view> raw,
                   std::optional<std::string_view> attributes);
  uint64_t count() const { return count_; }
  Digest128 finish() const;

 private:
  std::string quant_;
  int64_t dim_ = 0;
  int64_t projection_dim_ = 0;
  uint64_t count_ = 0;
  Digest128 sum_{};
  std::string buf_;
};

}  // namespace migcheck

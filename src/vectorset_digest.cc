// VectorSetDigest: length-prefixed canonical bytes per element, XXH3-128,
// summed (wrapping) so that the order elements are read in does not matter.
#include "vectorset_digest.h"

#include <bit>
#include <cstring>

namespace migcheck {

void VectorSetDigest::set_header(std::string_view quant, int64_t dim, int64_t projection_dim) {
  quant_.assign(quant);
  dim_ = dim;
  projection_dim_ = projection_dim;
}

void VectorSetDigest::add_element(std::string_view name, std::span<const std::string_view> raw,
                                  std::optional<std::string_view> attributes) {
  buf_.clear();
  put_bytes(buf_, name);
  put_u64(buf_, raw.size());
  for (std::string_view part : raw) put_bytes(buf_, part);
  // "No attributes" and an empty attribute string are different values.
  buf_.push_back(attributes ? 1 : 0);
  if (attributes) put_bytes(buf_, *attributes);
  sum_ += hash_bytes(buf_);
  ++count_;
}

Digest128 VectorSetDigest::finish() const {
  std::string b;
  b.push_back(static_cast<char>(ValueKind::VectorSet));
  put_bytes(b, quant_);
  put_u64(b, static_cast<uint64_t>(dim_));
  put_u64(b, static_cast<uint64_t>(projection_dim_));
  put_u64(b, count_);
  put_u64(b, sum_.lo);
  put_u64(b, sum_.hi);
  return hash_bytes(b);
}

}  // namespace migcheck

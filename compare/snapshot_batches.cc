// Encoding of a file key's state for a KeyHashTable, and hex digests read back.
#include "snapshot_batches.h"

#include <algorithm>
#include <cstring>

namespace migcheck {

std::optional<Digest128> digest_from_hex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  Digest128 d;
  for (size_t i = 0; i < 32; ++i) {
    const char c = hex[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return std::nullopt;
    uint64_t& half = i < 16 ? d.hi : d.lo;
    half = (half << 4) | static_cast<uint64_t>(v);
  }
  return d;
}

void put_spot(char* at, FileSpot spot) {
  std::memcpy(at, &spot.offset, 8);
  std::memcpy(at + 8, &spot.bytes, 8);
}

FileSpot get_spot(const char* at) {
  FileSpot spot;
  std::memcpy(&spot.offset, at, 8);
  std::memcpy(&spot.bytes, at + 8, 8);
  return spot;
}

std::string encode_state(const RdbKeyState& s) {
  std::string p(kStatePayload, '\0');
  std::memcpy(p.data(), s.type_name.data(), std::min(s.type_name.size(), kTypeName));
  p[kTypeName] = s.expire_ms ? 1 : 0;
  const int64_t exp = s.expire_ms.value_or(0);
  std::memcpy(p.data() + kTypeName + 1, &exp, 8);
  std::memcpy(p.data() + kTypeName + 9, &s.digest.hi, 8);
  std::memcpy(p.data() + kTypeName + 17, &s.digest.lo, 8);
  std::memcpy(p.data() + kTypeName + 25, &s.size, 8);
  put_spot(p.data() + kTypeName + 33, {s.offset, s.serialized_bytes});
  return p;
}

RdbKeyState decode_state(std::string_view p) {
  RdbKeyState s;
  s.type_name.assign(p.data(), strnlen(p.data(), kTypeName));
  s.type = value_type_from(s.type_name);
  int64_t exp = 0;
  std::memcpy(&exp, p.data() + kTypeName + 1, 8);
  if (p[kTypeName]) s.expire_ms = exp;
  std::memcpy(&s.digest.hi, p.data() + kTypeName + 9, 8);
  std::memcpy(&s.digest.lo, p.data() + kTypeName + 17, 8);
  std::memcpy(&s.size, p.data() + kTypeName + 25, 8);
  const FileSpot spot = get_spot(p.data() + kTypeName + 33);
  s.offset = spot.offset;
  s.serialized_bytes = spot.bytes;
  return s;
}

}  // namespace migcheck

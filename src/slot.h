// Redis Cluster key hashing: CRC16-XMODEM of the key, or of its hash tag.
#pragma once

#include <cstdint>
#include <string_view>

namespace migcheck {

inline constexpr int kSlots = 16384;

uint16_t crc16_xmodem(std::string_view data);
// The slot of `key`, with {hash tag} rules exactly as the cluster spec says.
int key_slot(std::string_view key);
// The part of the key that is hashed (the tag, or the whole key).
std::string_view hash_tag(std::string_view key);

}  // namespace migcheck

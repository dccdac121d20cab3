// CRC-64/Jones as Redis uses it for RDB files and DUMP payloads: polynomial
// 0xad93d23594c935a9, reflected input and output, initial value 0, no final
// xor. crc64(0, "123456789") == 0xe9c6d914c4b8d9ca.
#pragma once

#include <cstdint>
#include <string_view>

namespace migcheck {

// Continues `crc` over `data` (start with 0), so a stream can be checked in pieces.
uint64_t crc64(uint64_t crc, std::string_view data);

}  // namespace migcheck

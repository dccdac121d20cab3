// Byte-level encodings the reports need: UTF-8 validation, base64 (keys that
// are not text), and SHA-256 digests (tying the HTML to the JSON bytes, and
// the CSP hash of the inline script).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace migcheck {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view bytes);
// The length of the valid UTF-8 sequence starting at bytes[pos] (pos must be
// in range) with its code point in `cp`; 0 when the bytes there are not one.
size_t utf8_sequence(std::string_view bytes, size_t pos, uint32_t& cp);

// Standard alphabet, padded (RFC 4648 section 4).
std::string base64_encode(std::string_view bytes);
// nullopt for anything that is not canonical padded base64.
std::optional<std::string> base64_decode(std::string_view text);

using Sha256 = std::array<unsigned char, 32>;
Sha256 sha256(std::string_view bytes);  // OpenSSL EVP; throws Error if it fails
std::string hex(const Sha256& digest);  // lower-case

}  // namespace migcheck

// CRC16 (XMODEM polynomial 0x1021) and hash tags for cluster slot routing.
#include "slot.h"

#include <array>

namespace migcheck {
namespace {

constexpr std::array<uint16_t, 256> make_table() {
  std::array<uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    uint16_t crc = static_cast<uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b)
      crc = static_cast<uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : (crc << 1));
    t[i] = crc;
  }
  return t;
}
constexpr auto kTable = make_table();

}  // namespace

uint16_t crc16_xmodem(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char c : data)
    crc = static_cast<uint16_t>((crc << 8) ^ kTable[((crc >> 8) ^ c) & 0xff]);
  return crc;
}

std::string_view hash_tag(std::string_view key) {
  auto open = key.find('{');
  if (open == std::string_view::npos) return key;
  auto close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

int key_slot(std::string_view key) {
  return crc16_xmodem(hash_tag(key)) & (kSlots - 1);
}

}  // namespace migcheck

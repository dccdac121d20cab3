// Terminal-safe renderings of untrusted bytes.
#include "printable.h"

#include <cstdint>
#include <cstdio>

#include "encoding.h"

namespace migcheck {
namespace {

// Code points that are valid UTF-8 yet act on what a reader sees: bidi
// controls (reordering a line) and C1 controls (U+009B is a CSI to a terminal).
bool is_deceptive(uint32_t cp) {
  return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
         cp == 0x200F || cp == 0x061C || (cp >= 0x80 && cp <= 0x9F);
}

// printable_bytes and terminal_text: the same escapes; `double_backslash`
// is what tells them apart.
std::string readable(std::string_view bytes, bool double_backslash) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    uint32_t cp = 0;
    size_t len = utf8_sequence(bytes, i, cp);
    if (len == 0 || cp < 0x20 || cp == 0x7F) {
      append_hex_escape(out, static_cast<unsigned char>(bytes[i]));
      ++i;
      continue;
    }
    if (cp == '\\' && double_backslash) {
      out += "\\\\";
    } else if (is_deceptive(cp)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u{%04X}", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(bytes.substr(i, len));
    }
    i += len;
  }
  return out;
}

}  // namespace

void append_hex_escape(std::string& out, unsigned char c) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\x%02X", c);
  out += buf;
}

std::string printable_bytes(std::string_view bytes) {
  return readable(bytes, true);
}

std::string terminal_text(std::string_view text) {
  return readable(text, false);
}

}  // namespace migcheck

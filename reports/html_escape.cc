// HTML escaping and printable renderings of binary-safe strings.
#include "reports/html_escape.h"

#include <cstdint>
#include <cstdio>

#include "reports/encoding.h"

namespace migcheck {
namespace {

void append_hex_byte(std::string& out, unsigned char c) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\x%02X", c);
  out += buf;
}

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
      append_hex_byte(out, static_cast<unsigned char>(bytes[i]));
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

std::string printable_bytes(std::string_view bytes) {
  return readable(bytes, true);
}

std::string terminal_text(std::string_view text) {
  return readable(text, false);
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t len = utf8_sequence(text, i, cp);
    if (len == 0 || ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F)) {
      append_hex_byte(out, static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    switch (cp) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string html_bytes(std::string_view bytes) {
  return html_escape(printable_bytes(bytes));
}

}  // namespace migcheck

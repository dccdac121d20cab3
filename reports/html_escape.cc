// HTML escaping of untrusted strings.
#include "html_escape.h"

#include <cstdint>

#include "encoding.h"
#include "printable.h"

namespace migcheck {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t len = utf8_sequence(text, i, cp);
    if (len == 0 || ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F)) {
      append_hex_escape(out, static_cast<unsigned char>(text[i]));
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

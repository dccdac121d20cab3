// Terminal-safe renderings of untrusted bytes (key names, server errors,
// URIs): what every line migcheck writes goes through. Escaping for HTML is
// the reports' business (reports/html_escape.h).
#pragma once

#include <string>
#include <string_view>

namespace migcheck {

// A readable, unambiguous one-line form of arbitrary bytes, safe on a
// terminal: valid UTF-8 is kept; bytes that are not UTF-8, C0 controls and
// DEL become \xNN; bidi and C1 controls (which could make a key read
// differently than it is, or drive a terminal) become \u{NNNN}; a literal
// backslash is doubled so "\x41" and "A" stay distinct. Not HTML-safe by
// itself.
std::string printable_bytes(std::string_view bytes);

// The same escapes for a message that may quote untrusted text (a server's
// error, a URI from the command line): everything printable_bytes escapes
// except the backslash, so a message that already quotes printable_bytes(key)
// passes unchanged. Every line migcheck writes to the terminal goes through it.
std::string terminal_text(std::string_view text);

// Appends "\xNN" (upper-case hex) for one byte.
void append_hex_escape(std::string& out, unsigned char c);

}  // namespace migcheck

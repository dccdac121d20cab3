// Escaping of untrusted strings (key names, server strings, error texts) for
// the HTML report. Every byte from the store passes through here before it
// reaches the page, so a key such as "<script>" renders as text.
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

// Text for an HTML text node or a quoted attribute value: & < > " ' become
// entities; bytes that are not UTF-8 and controls other than tab, newline
// and carriage return become \xNN, so the page stays valid UTF-8.
std::string html_escape(std::string_view text);

// html_escape(printable_bytes(key)): how key names and other binary-safe
// values are shown.
std::string html_bytes(std::string_view bytes);

}  // namespace migcheck

// Escaping of untrusted strings (key names, server strings, error texts) for
// the HTML report. Every byte from the store passes through here before it
// reaches the page, so a key such as "<script>" renders as text.
#pragma once

#include <string>
#include <string_view>

#include "printable.h"  // html_bytes = html_escape(printable_bytes(...))

namespace migcheck {

// Text for an HTML text node or a quoted attribute value: & < > " ' become
// entities; bytes that are not UTF-8 and controls other than tab, newline
// and carriage return become \xNN, so the page stays valid UTF-8.
std::string html_escape(std::string_view text);

// html_escape(printable_bytes(key)): how key names and other binary-safe
// values are shown.
std::string html_bytes(std::string_view bytes);

}  // namespace migcheck

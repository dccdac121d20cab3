// --type validation: see type_filter.h.
#include "type_filter.h"

#include <algorithm>
#include <string>

#include "errors.h"

namespace migcheck {

namespace {

// The name as given, with anything unprintable as \xHH (it is echoed to a terminal).
std::string shown(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

void refuse_unknown_type(std::string_view type) {
  if (std::find(kKeyTypes.begin(), kKeyTypes.end(), type) != kKeyTypes.end()) return;
  std::string names;
  for (auto t : kKeyTypes) names += (names.empty() ? "" : ", ") + std::string(t);
  throw UsageError("--type " + shown(type) + ": unknown type (one of " + names + ")");
}

}  // namespace migcheck

// CLI11 composes a type name from the value's C++ type and its validator
// ("UINT:INT in [1 - 64]"); only the validator part means anything to a user.
#include "help_format.h"

namespace migcheck {

std::string friendly_type(std::string_view t) {
  // "<TYPE> in [1 - 1000]", alone or after "TYPE:" -> "1..1000"
  const size_t in = t.find(" in [");
  if (in != std::string_view::npos && t.back() == ']') {
    std::string_view range = t.substr(in + 5, t.size() - in - 6);
    const size_t dash = range.find(" - ");
    if (dash != std::string_view::npos)
      return std::string(range.substr(0, dash)) + ".." + std::string(range.substr(dash + 3));
  }
  const size_t colon = t.find(':');
  std::string_view base = t.substr(0, colon);
  std::string_view check = colon == std::string_view::npos ? "" : t.substr(colon + 1);
  // A type name set by hand ("HOST:PORT") is already meant for people.
  if (base != "TEXT" && base != "UINT" && base != "INT" && base != "FLOAT") return std::string(t);
  if (check == "POSITIVE" || check == "NONNEGATIVE") return base == "FLOAT" ? "NUMBER" : "N";
  if (!check.empty()) return std::string(check);
  if (base == "UINT" || base == "INT") return "N";
  if (base == "FLOAT") return "NUMBER";
  return std::string(base);
}

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  std::string s = CLI::Formatter::make_option_opts(opt);
  const std::string raw = opt->get_type_name();
  if (!raw.empty() && s.rfind(" " + raw, 0) == 0)
    s = " " + friendly_type(raw) + s.substr(raw.size() + 1);
  return s;
}

}  // namespace migcheck

// How --help names what an option takes: "DURATION", "1..1000",
// "{primary,replica}", rather than the parser's own labels
// ("TEXT:DURATION", "UINT:INT in [1 - 1000]").
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

namespace migcheck {

// The label a person reads for CLI11's type name of an option.
std::string friendly_type(std::string_view parser_type);

class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override;
};

}  // namespace migcheck

// Unknown commands and options, and RIOT-X's flag names.
#include "cli_suggest.h"

#include <algorithm>
#include <array>
#include <utility>

#include "errors.h"
#include "printable.h"

namespace migcheck {
namespace {

// RIOT-X's names for the same knobs: scripts written for it keep working.
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kAliases{{
    {"--key-pattern", "--match"},
    {"--key-type", "--type"},
    {"--read-batch", "--batch"},
    {"--read-threads", "--connections"},
}};

size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::App* sub : named_commands(app)) out.push_back(sub->get_name());
  return out;
}

std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::Option* opt : all_options(app))
    for (const auto& l : opt->get_lnames()) out.push_back("--" + l);
  return out;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string n = nearest(word, candidates);
  return n.empty() ? "" : "; did you mean " + n + "?";
}

}  // namespace

std::vector<const CLI::App*> named_commands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty(); });
}

std::vector<const CLI::Option*> all_options(const CLI::App& command) {
  std::vector<const CLI::Option*> out = command.get_options();
  for (const CLI::App* group :
       command.get_subcommands([](const CLI::App* sub) { return sub->get_name().empty(); })) {
    std::vector<const CLI::Option*> more = all_options(*group);
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  std::string best;
  size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    const size_t d = distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

void check_command_line(const CLI::App& app, std::vector<std::string>& args) {
  // The command: the first argument that is not an option of the program.
  size_t i = 1;
  while (i < args.size() && !args[i].empty() && args[i][0] == '-') ++i;
  if (i >= args.size()) return;  // --help, --version, or CLI11's own error
  const std::vector<std::string> commands = command_names(app);
  if (std::find(commands.begin(), commands.end(), args[i]) == commands.end())
    throw UsageError("unknown command '" + printable_bytes(args[i]) + "'" +
                     did_you_mean(args[i], commands) + " (commands: " +
                     [&] {
                       std::string all;
                       for (const auto& c : commands) all += (all.empty() ? "" : ", ") + c;
                       return all;
                     }() +
                     ")");
  const CLI::App* sub = nullptr;
  for (const CLI::App* c : named_commands(app))
    if (c->get_name() == args[i]) sub = c;
  for (size_t j = i + 1; j < args.size(); ++j) {
    std::string& a = args[j];
    if (a == "--") break;
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) continue;
    const size_t eq = a.find('=');
    std::string name = a.substr(0, eq);
    for (const auto& [riot, ours] : kAliases)
      if (name == riot && sub->get_option_no_throw(std::string(ours))) {
        a = std::string(ours) + (eq == std::string::npos ? "" : a.substr(eq));
        name = ours;
      }
    const CLI::Option* opt = sub->get_option_no_throw(name);
    if (!opt) {
      if (name == "--help") continue;
      throw UsageError("unknown option " + printable_bytes(name) + " for '" + sub->get_name() +
                       "'" + did_you_mean(name, option_names(*sub)) + " (see migcheck " +
                       sub->get_name() + " --help)");
    }
    // The value of an option may itself start with "--" (a --match glob).
    if (eq == std::string::npos && opt->get_expected_max() > 0) ++j;
  }
}

}  // namespace migcheck

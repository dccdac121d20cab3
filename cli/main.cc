// migcheck's entry point: parses the command line, runs one command, and
// maps every error to a one-line message and exit code 2.
#include <openssl/ssl.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>

#include "argv_scrub.h"
#include "cli.h"
#include "cli_suggest.h"
#include "commands.h"
#include "env_secrets.h"
#include "errors.h"
#include "help_format.h"
#include "log.h"
#include "printable.h"
#include "version.h"

namespace {

// The command that was parsed and whether it was asked for --json: a run
// that ends in an error still prints one JSON object then, so a pipeline
// reading stdout learns why instead of finding nothing.
std::string json_command(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) {
    const CLI::Option* json = sub->get_option_no_throw("--json");
    if (json && json->count() > 0) return sub->get_name();
  }
  return {};
}

// message is already redacted; error_handler_t::replace keeps a key name
// with invalid UTF-8 in the message from turning into a second error.
void print_json_error(const std::string& command, const std::string& message) {
  const nlohmann::json j = {{"command", command},
                            {"exit_code", migcheck::kExitError},
                            {"status", "failed"},
                            {"error", message}};
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace migcheck;
  // Secrets leave the process title before anything else runs; the command
  // line is parsed from a private copy.
  std::vector<std::string> args(argv, argv + argc);
  std::vector<std::string> secrets = scrub_argv(argc, argv);
  for (auto& s : take_env_secrets()) secrets.push_back(std::move(s));
  ::signal(SIGPIPE, SIG_IGN);
  OPENSSL_init_ssl(0, nullptr);

  CLI::App app{"migcheck: verify, repair and replicate Redis/Valkey migrations key by key"};
  app.formatter(std::make_shared<HelpFormatter>());  // inherited by every command
  app.set_version_flag("--version", version_text());
  app.set_help_all_flag("--help-all", "Print the help of every command and exit");
  app.require_subcommand(1);
  Runner run;
  add_all_commands(app, run);

  try {
    check_command_line(app, args);
    std::vector<char*> args_c;
    for (auto& a : args) args_c.push_back(a.data());
    app.parse(static_cast<int>(args_c.size()), args_c.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 quotes the arguments it did not expect, a URI with its password too.
    std::fprintf(stderr, "migcheck: %s (see migcheck --help)\n",
                 terminal_text(redact(e.what(), secrets)).c_str());
    return kExitError;
  } catch (const Error& e) {
    log::error(redact(e.what(), secrets));
    return kExitError;
  }
  const std::string json = json_command(app);
  auto fail = [&](const std::string& message) {
    log::error(message);
    if (!json.empty()) print_json_error(json, message);
    return kExitError;
  };
  try {
    return run ? run() : kExitError;
  } catch (const Error& e) {  // Interrupted included
    return fail(redact(e.what(), secrets));
  } catch (const std::bad_alloc&) {
    return fail("out of memory");
  } catch (const std::exception& e) {
    return fail(redact(std::string("internal error: ") + e.what(), secrets));
  }
}

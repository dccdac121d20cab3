// migcheck's entry point: parses the command line, runs one command, and
// maps every error to a one-line message and exit code 2.
#include <openssl/ssl.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "argv_scrub.h"
#include "cli.h"
#include "commands.h"
#include "errors.h"
#include "log.h"

int main(int argc, char** argv) {
  using namespace migcheck;
  ::signal(SIGPIPE, SIG_IGN);
  OPENSSL_init_ssl(0, nullptr);

  CLI::App app{"migcheck: verify, repair and replicate Redis/Valkey migrations key by key"};
  app.set_version_flag("--version", std::string("migcheck ") + MIGCHECK_VERSION);
  app.require_subcommand(1);
  Runner run;
  add_info_command(app, run);
  add_compare_command(app, run);
  add_diffs_command(app, run);
  add_repair_command(app, run);
  add_replicate_command(app, run);
  add_report_command(app, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "migcheck: %s (see migcheck --help)\n", e.what());
    return kExitError;
  } catch (const Error& e) {
    log::error(e.what());
    return kExitError;
  }
  // Parsed values are copies: the process title may now lose its secrets.
  scrub_argv(argc, argv);
  try {
    return run ? run() : kExitError;
  } catch (const Interrupted& e) {
    log::error(e.what());
    return kExitError;
  } catch (const Error& e) {
    log::error(e.what());
    return kExitError;
  } catch (const std::bad_alloc&) {
    log::error("out of memory");
    return kExitError;
  } catch (const std::exception& e) {
    log::error(std::string("internal error: ") + e.what());
    return kExitError;
  }
}

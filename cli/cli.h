// The one CLI grammar shared by every command: connection flags per side
// (named as RIOT-X users know them), --store, --quiet, timeouts and retry.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "client.h"
#include "duration.h"
#include "exit_codes.h"
#include "uri.h"

namespace migcheck {

struct SideOptions {
  std::string uri;
  std::string user;
  std::string pass;
  bool tls = false;
  std::string cacert, cert, key;
  bool insecure = false;
  bool cluster = false;
  std::string sentinel_user, sentinel_pass;  // redis-sentinel:// URIs: Sentinel's own
};

struct CommonOptions {
  SideOptions source, target;
  std::string store = "migcheck.db";
  bool quiet = false;
  bool verbose = false;
  Millis connect_timeout{5000};
  Millis command_timeout{30000};
  Millis retry_for{60000};
  std::string read_from = "primary";  // or "replica" (cluster sources)
};

// The source of the command line is a snapshot file (uri.h's snapshot_path).
bool source_is_snapshot(const CommonOptions& common);
// The snapshot file a URI names, checked to be a regular file that exists,
// as an absolute path (a run records it as file://PATH, so it names the file).
std::string snapshot_file(const std::string& uri);

// `--source-user` ... `--source-cluster` for side "source" (and "target").
void add_side_flags(CLI::App& app, SideOptions& side, const std::string& side_name);
// Store, quiet/verbose, timeouts, --retry-for, --read-from.
// Without store_flag (info, which records nothing) there is no --store.
void add_common_flags(CLI::App& app, CommonOptions& opts, bool store_flag = true);
// The same for commands that only read the store (diffs, report): the
// connection flags are accepted (scripts pass one flag set to every
// command) but kept out of --help.
void add_offline_flags(CLI::App& app, CommonOptions& opts);

// The endpoint of a side: the URI, overridden by flags, with the password
// from $env_var when neither gives one (and Sentinel's from
// $env_var with _PASS -> _SENTINEL_PASS). Throws UsageError.
Endpoint resolve_endpoint(const SideOptions& side, const char* env_var);
// Both endpoints with --db / --target-db applied: the target db is
// --target-db, else --db, else the target URI's, else the source's.
void resolve_sides(const CommonOptions& opts, int db, int target_db, Endpoint& source,
                   Endpoint& target);
ClientOptions client_options(const CommonOptions& opts, bool for_source);

// A CLI11 validator for durations ("500ms", "5s", "2m").
const CLI::Validator& duration_validator();

}  // namespace migcheck

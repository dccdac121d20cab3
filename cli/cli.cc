// Shared flag definitions and their resolution into endpoints and options.
#include "cli.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "duration.h"
#include "env_secrets.h"
#include "errors.h"
#include "flag_groups.h"
#include "log.h"

namespace migcheck {

const CLI::Validator& duration_validator() {
  static const CLI::Validator v(
      [](std::string& s) -> std::string {
        try {
          parse_duration(s);
          return {};
        } catch (const UsageError& e) {
          return e.what();
        }
      },
      "DURATION");
  return v;
}

void add_side_flags(CLI::App& app, SideOptions& s, const std::string& side) {
  const std::string g = side == "source" ? "Source connection" : "Target connection";
  app.add_option("--" + side + "-user", s.user, "ACL user name for the " + side)->group(g);
  app.add_option("--" + side + "-pass", s.pass,
                 "password for the " + side + " (or MIGCHECK_" +
                     std::string(side == "source" ? "SOURCE" : "TARGET") + "_PASS)")
      ->group(g);
  app.add_flag("--" + side + "-tls", s.tls, "use TLS for the " + side + " (as rediss://)")
      ->group(g);
  app.add_option("--" + side + "-cacert", s.cacert, "CA certificate file to verify the " + side)
      ->group(g)
      ->check(CLI::ExistingFile);
  app.add_option("--" + side + "-cert", s.cert, "client certificate (PEM) for the " + side)
      ->group(g)
      ->check(CLI::ExistingFile);
  app.add_option("--" + side + "-key", s.key, "client private key (PEM) for the " + side)
      ->group(g)
      ->check(CLI::ExistingFile);
  app.add_flag("--" + side + "-insecure", s.insecure,
               "do not verify the " + side + "'s TLS certificate (warns)")
      ->group(g);
  app.add_flag("--" + side + "-cluster", s.cluster,
               "require the " + side + " to be a Redis Cluster (detected otherwise)")
      ->group(g);
  const std::string upper = side == "source" ? "SOURCE" : "TARGET";
  app.add_option(
         "--" + side + "-sentinel-user", s.sentinel_user,
         "ACL user for the " + side + "'s sentinels (redis-sentinel://; default: the URI's)")
      ->group(g);
  app.add_option("--" + side + "-sentinel-pass", s.sentinel_pass,
                 "password for the " + side + "'s sentinels (or MIGCHECK_" + upper +
                     "_SENTINEL_PASS; default: the URI's)")
      ->group(g);
}

void add_common_flags(CLI::App& app, CommonOptions& o, bool store_flag) {
  if (store_flag) app.add_option("--store", o.store, "SQLite result store")->capture_default_str();
  app.add_flag("-q,--quiet", o.quiet, "no progress or informational output");
  app.add_flag("--verbose", o.verbose, "debug output");
  add_positive_duration_option(app, "--connect-timeout", o.connect_timeout, "connect timeout");
  add_positive_duration_option(app, "--timeout", o.command_timeout, "per-reply timeout");
  add_duration_option(app, "--retry-for", o.retry_for,
                      "keep reconnecting to a lost server this long before giving up");
  app.add_option("--read-from", o.read_from, "cluster sources: read from primary or replica")
      ->check(CLI::IsMember({"primary", "replica"}))
      ->capture_default_str();
}

void add_offline_flags(CLI::App& app, CommonOptions& o) {
  add_common_flags(app, o);
  for (const char* name : {"--connect-timeout", "--timeout", "--retry-for", "--read-from"})
    if (auto* opt = app.get_option_no_throw(name)) opt->group("");
}

bool source_is_snapshot(const CommonOptions& common) {
  return snapshot_path(common.source.uri).has_value();
}

std::string snapshot_file(const std::string& uri) {
  std::string path = *snapshot_path(uri);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw UsageError("cannot open snapshot file " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw UsageError(path + " is not a regular file");
  return std::filesystem::absolute(path).lexically_normal().string();
}

Endpoint resolve_endpoint(const SideOptions& s, const char* env_var) {
  // Not parsed as a host name: say what is and is not supported yet (issue 17).
  if (snapshot_path(s.uri))
    throw UsageError("'" + s.uri +
                     "' is a snapshot file: only `migcheck info`, `migcheck compare` and `migcheck "
                     "replicate` (as the source) "
                     "read snapshot files so far");
  Endpoint ep = parse_uri(s.uri);
  if (!s.user.empty()) ep.user = s.user;
  if (!s.pass.empty()) {
    ep.password = s.pass;
  } else if (ep.password.empty()) {
    if (auto env = env_secret(env_var)) ep.password = std::move(*env);
  }
  if (s.tls) ep.tls.enabled = true;
  if (!s.cacert.empty()) ep.tls.cacert = s.cacert;
  if (!s.cert.empty()) ep.tls.cert = s.cert;
  if (!s.key.empty()) ep.tls.key = s.key;
  if (s.insecure) ep.tls.insecure = true;
  if (s.cluster) ep.cluster = true;
  std::string sentinel_env(env_var);
  if (auto at = sentinel_env.rfind("_PASS"); at != std::string::npos)
    sentinel_env.insert(at, "_SENTINEL");
  const std::optional<std::string> sentinel_pass = env_secret(sentinel_env);
  if (!ep.is_sentinel() && (!s.sentinel_user.empty() || !s.sentinel_pass.empty()))
    throw UsageError("sentinel credentials given for " + ep.display() +
                     ", which is not a redis-sentinel:// URI");
  if (ep.is_sentinel()) {
    if (ep.cluster.value_or(false))
      throw UsageError(ep.display() + ": Sentinel manages standalone servers, not clusters");
    ep.sentinel_user = s.sentinel_user;
    ep.sentinel_password = !s.sentinel_pass.empty() ? s.sentinel_pass
                           : sentinel_pass          ? *sentinel_pass
                                                    : "";
  }
  if ((!ep.tls.cert.empty() || !ep.tls.cacert.empty() || ep.tls.insecure) && !ep.tls.enabled)
    throw UsageError("TLS options given for " + ep.display() +
                     " but TLS is off: use rediss:// or --*-tls");
  return ep;
}

void resolve_sides(const CommonOptions& o, int db, int target_db, Endpoint& source,
                   Endpoint& target) {
  source = resolve_endpoint(o.source, "MIGCHECK_SOURCE_PASS");
  target = resolve_endpoint(o.target, "MIGCHECK_TARGET_PASS");
  if (db >= 0) {
    source.db = db;
    source.db_given = true;
  }
  if (target_db >= 0)
    target.db = target_db;
  else if (db >= 0)
    target.db = db;
  else if (!target.db_given)
    target.db = source.db;
}

ClientOptions client_options(const CommonOptions& o, bool for_source) {
  ClientOptions c;
  c.conn.connect_timeout = o.connect_timeout;
  c.conn.command_timeout = o.command_timeout;
  c.retry_for = o.retry_for;
  c.read_from_replica = for_source && o.read_from == "replica";
  return c;
}

}  // namespace migcheck

// Endpoint descriptions: parsing redis://, rediss://, unix:// and
// redis-sentinel:// URIs and printing them back without secrets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migcheck {

struct TlsOptions {
  bool enabled = false;
  std::string cacert;     // CA bundle file; empty = system default paths
  std::string cert;       // client certificate (PEM)
  std::string key;        // client private key (PEM)
  bool insecure = false;  // skip certificate and hostname verification
};

// One Sentinel of a Sentinel-managed primary (default port 26379).
struct SentinelAddress {
  std::string host;
  int port = 26379;
  std::string address() const;  // host:port, [v6]:port
};

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // non-empty for unix:// endpoints
  std::string user;
  std::string password;
  int db = 0;
  bool db_given = false;  // the URI or a flag named a db explicitly
  TlsOptions tls;
  std::optional<bool> cluster;  // forced by a flag; unset = detect from INFO
  // redis-sentinel://: the primary named sentinel_master is wherever these
  // sentinels say it is (host and port stay empty; every connection asks,
  // see sentinel.h). user/password are the data nodes' and, unless
  // sentinel_user/sentinel_password are given, the sentinels' too (as in
  // RIOT-X/Lettuce). TLS options apply to both.
  std::vector<SentinelAddress> sentinels;
  std::string sentinel_master;
  std::string sentinel_user;
  std::string sentinel_password;

  bool is_unix() const { return !unix_path.empty(); }
  bool is_sentinel() const { return !sentinels.empty(); }
  // "h1:26379,h2:26379" (sentinel endpoints).
  std::string sentinel_list() const;
  // host:port ([v6]:port) or the socket path: used to name nodes. For a
  // sentinel endpoint "sentinel:NAME@h1:p1,h2:p2", whichever node is primary.
  std::string address() const;
  // The URI without any password, safe for logs, the store and reports.
  std::string display() const;

 private:
  std::string display_raw() const;
};

// Parses an endpoint URI. A bare "host:port" or "host" is accepted as
// redis://. Throws UsageError with a message that never contains the password.
Endpoint parse_uri(std::string_view uri);

// A snapshot file given where an endpoint URI is accepted: "file:///path",
// or a bare path that no host:port can be (starting with '/', "./" or
// "../", or ending in ".rdb"). The file's path; nullopt for server URIs.
// Throws UsageError for a file:// URI naming a host or no path.
std::optional<std::string> snapshot_path(std::string_view uri);

// Percent-decoding for the userinfo part; throws UsageError on bad escapes.
std::string percent_decode(std::string_view s);

}  // namespace migcheck

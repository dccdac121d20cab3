// Endpoint descriptions: parsing redis://, rediss:// and unix:// URIs and
// printing them back without secrets.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace migcheck {

struct TlsOptions {
  bool enabled = false;
  std::string cacert;     // CA bundle file; empty = system default paths
  std::string cert;       // client certificate (PEM)
  std::string key;        // client private key (PEM)
  bool insecure = false;  // skip certificate and hostname verification
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

  bool is_unix() const { return !unix_path.empty(); }
  // host:port ([v6]:port) or the socket path: used to name nodes.
  std::string address() const;
  // The URI without any password, safe for logs, the store and reports.
  std::string display() const;

 private:
  std::string display_raw() const;
};

// Parses an endpoint URI. A bare "host:port" or "host" is accepted as
// redis://. Throws UsageError with a message that never contains the password.
Endpoint parse_uri(std::string_view uri);

// Percent-decoding for the userinfo part; throws UsageError on bad escapes.
std::string percent_decode(std::string_view s);

}  // namespace migcheck

// URI grammar: redis[s]://[user[:password]@]host[:port][/db] and unix:///path[?db=N].
#include "uri.h"

#include "reports/html_escape.h"

#include <charconv>

#include "errors.h"

namespace migcheck {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int parse_int(std::string_view s, int lo, int hi, const char* what) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi)
    throw UsageError(std::string("invalid ") + what + " '" + std::string(s) + "' in endpoint URI");
  return v;
}

void parse_db_suffix(std::string_view rest, Endpoint& ep) {
  if (rest.empty()) return;
  ep.db = parse_int(rest, 0, 1 << 20, "database number");
  ep.db_given = true;
}

}  // namespace

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
    if (hi < 0 || lo < 0)
      throw UsageError("invalid percent-encoding in endpoint URI user information");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

Endpoint parse_uri(std::string_view uri) {
  Endpoint ep;
  std::string_view rest = uri;
  if (uri.empty()) throw UsageError("empty endpoint URI");
  auto scheme_end = rest.find("://");
  std::string_view scheme = "redis";
  if (scheme_end != std::string_view::npos) {
    scheme = rest.substr(0, scheme_end);
    rest.remove_prefix(scheme_end + 3);
  }
  if (scheme == "unix") {
    // unix:///path/to.sock, optionally ?db=N
    auto q = rest.find('?');
    std::string_view path = rest.substr(0, q);
    if (path.empty() || path[0] != '/')
      throw UsageError("unix endpoint needs an absolute socket path: unix:///path/to.sock");
    ep.unix_path = std::string(path);
    ep.host.clear();
    ep.port = 0;
    if (q != std::string_view::npos) {
      std::string_view query = rest.substr(q + 1);
      if (query.substr(0, 3) != "db=") throw UsageError("unix endpoint query must be ?db=N");
      parse_db_suffix(query.substr(3), ep);
    }
    return ep;
  }
  if (scheme == "rediss") {
    ep.tls.enabled = true;
  } else if (scheme != "redis") {
    throw UsageError("unsupported URI scheme '" + std::string(scheme) +
                     "' (use redis://, rediss:// or unix://)");
  }
  // userinfo: everything before the last '@' (passwords may contain '@' when
  // percent-encoded, but be lenient with a raw one too).
  auto at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      // redis://secret@host is the common "password only" form of redis-cli.
      ep.password = percent_decode(userinfo);
    } else {
      ep.user = percent_decode(userinfo.substr(0, colon));
      ep.password = percent_decode(userinfo.substr(colon + 1));
    }
  }
  auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && db.back() == '/') db.remove_suffix(1);
    parse_db_suffix(db, ep);
  }
  if (hostport.empty()) throw UsageError("endpoint URI has no host");
  if (hostport[0] == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos)
      throw UsageError("unterminated IPv6 literal in endpoint URI");
    ep.host = std::string(hostport.substr(1, close - 1));
    if (ep.host.empty()) throw UsageError("empty IPv6 literal in endpoint URI");
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') throw UsageError("unexpected text after IPv6 literal in endpoint URI");
      ep.port = parse_int(after.substr(1), 1, 65535, "port");
    }
  } else {
    auto colon = hostport.rfind(':');
    if (colon != std::string_view::npos) {
      if (hostport.find(':') != colon)
        throw UsageError("IPv6 addresses must be written in brackets: redis://[::1]:6379");
      ep.host = std::string(hostport.substr(0, colon));
      ep.port = parse_int(hostport.substr(colon + 1), 1, 65535, "port");
    } else {
      ep.host = std::string(hostport);
    }
    if (ep.host.empty()) throw UsageError("endpoint URI has no host");
  }
  for (char c : ep.host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '?' || c == '#')
      throw UsageError("invalid character in endpoint host");
  }
  return ep;
}

std::string Endpoint::address() const {
  if (is_unix()) return unix_path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string Endpoint::display() const {
  // Escaped: the URI's bytes come from the command line, and this is what
  // reaches terminals, the store and reports.
  return terminal_text(display_raw());
}

std::string Endpoint::display_raw() const {
  std::string out;
  if (is_unix()) {
    out = "unix://" + unix_path;
    if (db != 0) out += "?db=" + std::to_string(db);
    return out;
  }
  out = tls.enabled ? "rediss://" : "redis://";
  if (!user.empty()) out += user + "@";
  out += address();
  if (db != 0) out += "/" + std::to_string(db);
  return out;
}

}  // namespace migcheck

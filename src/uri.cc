// URI grammar: redis[s]://[user[:password]@]host[:port][/db], unix:///path[?db=N]
// and redis[s]-sentinel://[user[:password]@]host[:port][,host[:port]...][/db]?master=NAME.
#include "uri.h"

#include "printable.h"

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

// host, host:port, [v6] or [v6]:port; the port is left as it is when absent.
void parse_host_port(std::string_view hostport, std::string& host, int& port) {
  if (hostport.empty()) throw UsageError("endpoint URI has no host");
  if (hostport[0] == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos)
      throw UsageError("unterminated IPv6 literal in endpoint URI");
    host = std::string(hostport.substr(1, close - 1));
    if (host.empty()) throw UsageError("empty IPv6 literal in endpoint URI");
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') throw UsageError("unexpected text after IPv6 literal in endpoint URI");
      port = parse_int(after.substr(1), 1, 65535, "port");
    }
  } else {
    auto colon = hostport.rfind(':');
    if (colon != std::string_view::npos) {
      if (hostport.find(':') != colon)
        throw UsageError("IPv6 addresses must be written in brackets: redis://[::1]:6379");
      host = std::string(hostport.substr(0, colon));
      port = parse_int(hostport.substr(colon + 1), 1, 65535, "port");
    } else {
      host = std::string(hostport);
    }
    if (host.empty()) throw UsageError("endpoint URI has no host");
  }
  for (char c : host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '?' || c == '#' || c == ',')
      throw UsageError("invalid character in endpoint host");
  }
}

// userinfo: everything before the last '@' (passwords may contain '@' when
// percent-encoded, but be lenient with a raw one too). Removed from `rest`.
void take_userinfo(std::string_view& rest, Endpoint& ep) {
  auto at = rest.rfind('@');
  if (at == std::string_view::npos) return;
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

// Splits "hosts[/db[/]]" (after the userinfo): parses the db into `ep` and
// returns the hosts part.
std::string_view take_db_path(std::string_view rest, Endpoint& ep) {
  auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && db.back() == '/') db.remove_suffix(1);
    parse_db_suffix(db, ep);
  }
  return rest.substr(0, slash);
}

// After "redis-sentinel://": [userinfo@]host[:port][,host[:port]...][/db]?master=NAME
// (RIOT-X/Lettuce spell the parameter sentinelMasterId). The host and port
// of the primary stay empty: the sentinels say where it is at each connection.
void parse_sentinel(std::string_view rest, Endpoint& ep) {
  take_userinfo(rest, ep);
  ep.host.clear();
  ep.port = 0;
  auto q = rest.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view() : rest.substr(q + 1);
  rest = rest.substr(0, q);
  std::string_view hosts = take_db_path(rest, ep);
  if (hosts.empty())
    throw UsageError("sentinel URI names no sentinel: redis-sentinel://host:26379?master=NAME");
  while (true) {
    auto comma = hosts.find(',');
    SentinelAddress a;
    parse_host_port(hosts.substr(0, comma), a.host, a.port);
    ep.sentinels.push_back(std::move(a));
    if (comma == std::string_view::npos) break;
    hosts.remove_prefix(comma + 1);
  }
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (param.empty()) continue;
    auto eq = param.find('=');
    std::string_view name = param.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if (name != "master" && name != "sentinelMasterId")
      throw UsageError("unknown parameter '" + std::string(name) +
                       "' in sentinel URI (only master=NAME, or sentinelMasterId=NAME)");
    if (value.empty()) throw UsageError("empty master name in sentinel URI");
    ep.sentinel_master = percent_decode(value);
  }
  if (ep.sentinel_master.empty())
    throw UsageError("sentinel URI names no primary: add ?master=NAME (or ?sentinelMasterId=NAME)");
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
  if (scheme == "redis-sentinel" || scheme == "rediss-sentinel") {
    ep.tls.enabled = scheme == "rediss-sentinel";
    parse_sentinel(rest, ep);
    return ep;
  }
  if (scheme == "rediss") {
    ep.tls.enabled = true;
  } else if (scheme != "redis") {
    throw UsageError("unsupported URI scheme '" + std::string(scheme) +
                     "' (use redis://, rediss://, unix:// or redis-sentinel://)");
  }
  take_userinfo(rest, ep);
  parse_host_port(take_db_path(rest, ep), ep.host, ep.port);
  return ep;
}

std::string SentinelAddress::address() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string Endpoint::sentinel_list() const {
  std::string out;
  for (const auto& s : sentinels) out += (out.empty() ? "" : ",") + s.address();
  return out;
}

std::string Endpoint::address() const {
  if (is_unix()) return unix_path;
  // The same name for whichever node is primary: a failover then shows as
  // a new server process at the same address (RestartWatch), and cursors
  // keep their node.
  if (is_sentinel()) return "sentinel:" + sentinel_master + "@" + sentinel_list();
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
  if (is_sentinel()) {
    out = tls.enabled ? "rediss-sentinel://" : "redis-sentinel://";
    if (!user.empty()) out += user + "@";
    out += sentinel_list();
    if (db != 0) out += "/" + std::to_string(db);
    return out + "?master=" + sentinel_master;
  }
  out = tls.enabled ? "rediss://" : "redis://";
  if (!user.empty()) out += user + "@";
  out += address();
  if (db != 0) out += "/" + std::to_string(db);
  return out;
}

std::optional<std::string> snapshot_path(std::string_view uri) {
  if (uri.starts_with("file://")) {
    std::string_view path = uri.substr(7);
    if (!path.starts_with("/"))
      throw UsageError("file:// URI needs an absolute path (file:///path/dump.rdb)");
    return percent_decode(path);
  }
  if (uri.find("://") != std::string_view::npos) return std::nullopt;
  if (uri.starts_with("/") || uri.starts_with("./") || uri.starts_with("../") ||
      uri.ends_with(".rdb"))
    return std::string(uri);
  return std::nullopt;
}

}  // namespace migcheck

// `migcheck info URI...`: what each endpoint is, in text or JSON.
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>

#include "cli.h"
#include "commands.h"
#include "duration.h"
#include "log.h"
#include "printable.h"
#include "rdb_digest.h"
#include "rdb_info.h"
#include "sentinel.h"
#include "server_info.h"
#include "uri.h"

namespace migcheck {
namespace {

struct InfoOptions {
  std::vector<std::string> uris;
  CommonOptions common;
  bool json = false;
  bool digest = false;
};

void print_text(const ServerFacts& f) {
  auto line = [](const char* k, const std::string& v) {
    std::printf("  %-24s %s\n", k, terminal_text(v).c_str());  // servers' words
  };
  std::printf("%s\n", terminal_text(f.endpoint).c_str());
  line("engine", f.engine + " " + f.version);
  line("mode",
       f.mode + (f.mode == "cluster" ? " (" +
                                           std::to_string(std::count_if(
                                               f.nodes.begin(), f.nodes.end(),
                                               [](auto& n) { return n.role == "primary"; })) +
                                           " primaries)"
                                     : ""));
  line("role", f.role);
  line("tls", f.tls ? "yes" : "no");
  std::string dbs;
  int64_t total = 0;
  for (auto [db, k] : f.keys_per_db) {
    dbs += (dbs.empty() ? "" : ", ") + ("db" + std::to_string(db)) + "=" + std::to_string(k);
    total += k;
  }
  line("keys", std::to_string(total) + (dbs.empty() ? "" : " (" + dbs + ")"));
  line("used_memory",
       f.used_memory >= 0 ? format_bytes(static_cast<uint64_t>(f.used_memory)) : "unknown");
  line("maxmemory", f.maxmemory == 0  ? "unlimited"
                    : f.maxmemory > 0 ? format_bytes(static_cast<uint64_t>(f.maxmemory))
                                      : "unknown");
  line("maxmemory-policy", f.maxmemory_policy.empty() ? "unknown" : f.maxmemory_policy);
  line("notify-keyspace-events",
       f.notify_keyspace_events.empty() ? "\"\" (off)" : f.notify_keyspace_events);
  const auto release_rdb = known_rdb_version(f.engine, f.version);
  line("rdb version (DUMP)", f.rdb_version ? std::to_string(*f.rdb_version)
                             : release_rdb
                                 ? f.rdb_version_note + "; " + f.engine + " " + f.version +
                                       " writes " + std::to_string(*release_rdb)
                                 : f.rdb_version_note);
  if (f.mode == "cluster") {
    std::printf("  nodes:\n");
    for (const auto& n : f.nodes) {
      std::string slots;
      for (auto [lo, hi] : n.slots)
        slots += (slots.empty() ? "" : ",") + std::to_string(lo) + "-" + std::to_string(hi);
      std::printf("    %-22s %-8s keys=%-10lld slots=%s\n", terminal_text(n.address).c_str(),
                  terminal_text(n.role).c_str(), static_cast<long long>(n.keys),
                  slots.empty() ? "-" : slots.c_str());
    }
  }
}

// The Sentinel view of a redis-sentinel:// endpoint, after its server facts.
void print_sentinel(const SentinelView& v) {
  auto line = [](const char* k, const std::string& val) {
    std::printf("  %-24s %s\n", k, val.c_str());
  };
  line("sentinel master", v.master);
  line("sentinel primary", v.primary + " (" + v.flags + ")");
  line("sentinel quorum", std::to_string(v.quorum) + " (" + std::to_string(v.other_sentinels) +
                              " other sentinels known to " + v.answered_by + ")");
  if (v.replicas.empty()) line("sentinel replicas", "none");
  for (const auto& r : v.replicas)
    line("sentinel replica", r.address + " (" + r.flags + ", link " + r.link_status + ")");
  for (const auto& s : v.sentinels)
    line("sentinel", s.address + (s.answered ? " answered" : " did not answer: " + s.error));
}

int run_info(const InfoOptions& o) {
  log::set_quiet(o.common.quiet);
  nlohmann::json all = nlohmann::json::array();
  for (size_t i = 0; i < o.uris.size(); ++i) {
    if (auto path = snapshot_path(o.uris[i])) {  // a snapshot file: summarised, not connected to
      const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      if (o.digest) {
        // One pass digesting every value as compare does (the benchmark's
        // parse+digest figure): the sum of the keys' (db, key, value) digests.
        Digest128 sum;
        uint64_t keys = 0;
        digest_rdb_file(*path, [&](const RdbKeyState& k) {
          Digest128 d = k.digest;
          d.lo ^= std::hash<std::string>{}(k.key) + static_cast<uint64_t>(k.db);
          sum += d;
          ++keys;
        });
        char hex[40];
        std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(sum.hi),
                      static_cast<unsigned long long>(sum.lo));
        if (o.json)
          all.push_back({{"path", *path}, {"keys", keys}, {"digest", hex}});
        else
          std::printf("%s: %llu keys digested, digest %s\n", printable_bytes(*path).c_str(),
                      static_cast<unsigned long long>(keys), hex);
        continue;
      }
      RdbSummary s = summarize_rdb(*path, 20, now);
      if (o.json)
        all.push_back(to_json(s));
      else {
        if (i) std::printf("\n");
        print_text(s, stdout);
      }
      continue;
    }
    SideOptions side = i == 1 ? o.common.target : o.common.source;
    if (i > 1) side = SideOptions{};
    side.uri = o.uris[i];
    Endpoint ep = resolve_endpoint(side, i == 1 ? "MIGCHECK_TARGET_PASS" : "MIGCHECK_SOURCE_PASS");
    Client client(ep, client_options(o.common, true));
    ServerFacts f = gather_facts(client);
    std::optional<SentinelView> sv;
    if (ep.is_sentinel()) sv = sentinel_view(ep, o.common.connect_timeout);
    if (o.json) {
      all.push_back(to_json(f));
      if (sv) all.back()["sentinel"] = to_json(*sv);
    } else {
      if (i) std::printf("\n");
      print_text(f);
      if (sv) print_sentinel(*sv);
    }
  }
  if (o.json) std::printf("%s\n", all.dump(2).c_str());
  return 0;
}

}  // namespace

void add_info_command(CLI::App& app, Runner& run) {
  auto [opts, sub] = add_command<InfoOptions>(
      app, run, "info", "Show engine, version, topology, memory and settings of endpoints",
      run_info);
  sub->add_option("uri", opts->uris,
                  "endpoint URIs or snapshot files (--source-* flags apply to the first, "
                  "--target-* to the second)")
      ->required();
  sub->add_flag("--json", opts->json, "machine-readable output");
  sub->add_flag("--digest", opts->digest,
                "snapshot files: digest every value (as compare does) instead of the summary");
  add_side_flags(*sub, opts->common.source, "source");
  add_side_flags(*sub, opts->common.target, "target");
  add_common_flags(*sub, opts->common, /*store_flag=*/false);
}

}  // namespace migcheck

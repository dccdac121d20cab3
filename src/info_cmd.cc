// `migcheck info URI...`: what each endpoint is, in text or JSON.
#include <cstdio>
#include <memory>

#include "cli.h"
#include "commands.h"
#include "duration.h"
#include "log.h"
#include "reports/html_escape.h"
#include "server_info.h"

namespace migcheck {
namespace {

struct InfoOptions {
  std::vector<std::string> uris;
  CommonOptions common;
  bool json = false;
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
  line("rdb version (DUMP)", f.rdb_version ? std::to_string(*f.rdb_version) : f.rdb_version_note);
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

int run_info(const InfoOptions& o) {
  log::set_quiet(o.common.quiet);
  nlohmann::json all = nlohmann::json::array();
  for (size_t i = 0; i < o.uris.size(); ++i) {
    SideOptions side = i == 1 ? o.common.target : o.common.source;
    if (i > 1) side = SideOptions{};
    side.uri = o.uris[i];
    Endpoint ep = resolve_endpoint(side, i == 1 ? "MIGCHECK_TARGET_PASS" : "MIGCHECK_SOURCE_PASS");
    Client client(ep, client_options(o.common, true));
    ServerFacts f = gather_facts(client);
    if (o.json)
      all.push_back(to_json(f));
    else {
      if (i) std::printf("\n");
      print_text(f);
    }
  }
  if (o.json) std::printf("%s\n", all.dump(2).c_str());
  return 0;
}

}  // namespace

void add_info_command(CLI::App& app, Runner& run) {
  auto opts = std::make_shared<InfoOptions>();
  auto* sub = app.add_subcommand(
      "info", "Show engine, version, topology, memory and settings of endpoints");
  sub->add_option("uri", opts->uris,
                  "endpoint URIs (--source-* flags apply to the first, --target-* to the second)")
      ->required();
  sub->add_flag("--json", opts->json, "machine-readable output");
  add_side_flags(*sub, opts->common.source, "source");
  add_side_flags(*sub, opts->common.target, "target");
  add_common_flags(*sub, opts->common);
  sub->callback([&run, opts] { run = [opts] { return run_info(*opts); }; });
}

}  // namespace migcheck

// Rendering of the report model as one HTML page. Every string that came
// from the store or a server goes through html_escape/html_bytes; markup is
// only ever built from this file's literals.
#include "report_html.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "assets.h"
#include "duration.h"
#include "encoding.h"
#include "errors.h"
#include "html_escape.h"
#include "report_json.h"
#include "svg_chart.h"
#include "value_diff.h"

namespace migcheck {
namespace {

constexpr std::string_view kKnownKinds[] = {kKindMissing, kKindExtra, kKindType, kKindTtl,
                                            kKindValue};

std::string_view required_asset(std::string_view name) {
  std::string_view a = asset(name);
  if (a.empty()) throw Error("report asset " + std::string(name) + " is missing from this build");
  return a;
}

// A CSS class for a kind: from the fixed list, never the stored text.
std::string kind_class(std::string_view kind) {
  for (auto k : kKnownKinds)
    if (k == kind) return "kind-" + std::string(k);
  return "kind-other";
}

std::string esc(std::string_view s) {
  return html_escape(s);
}

// Whether the run compared anything itself; repair and replicate runs may
// not, and then their charts and samples would only be empty boxes.
bool has_rounds(const ReportModel& m) {
  return !m.rounds.empty() || m.differences.total > 0;
}

// "2024-05-01 12:00:00 UTC": the JSON keeps ISO 8601, people get this.
std::string time_text(int64_t ms) {
  if (ms <= 0) return "-";
  std::string iso = iso8601_utc(ms);  // 2024-05-01T12:00:00.123Z
  return iso.substr(0, 10) + " " + iso.substr(11, 8) + " UTC";
}

std::string duration_text(int64_t start, int64_t end) {
  if (start <= 0 || end <= 0 || end < start) return "-";
  return format_duration(Millis(end - start));
}

std::string ttl_text(int64_t ms) {
  if (ms == -1) return "persistent";
  if (ms == -2) return "absent";
  if (ms < 0) return "?";
  return format_duration(Millis(ms));
}

std::string bytes_or_unknown(int64_t n) {
  return n >= 0 ? format_bytes(static_cast<uint64_t>(n)) : "unknown";
}

std::string status_badge(CheckStatus s) {
  std::string v(to_string(s));
  std::string label = v;
  std::transform(label.begin(), label.end(), label.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return "<span class=\"status " + v + "\">" + label + "</span>";
}

std::string run_title(const RunRecord& r) {
  return esc(r.command) + " run #" + std::to_string(r.id);
}

std::string banner(const ReportModel& m) {
  int pass = 0, warn = 0, fail = 0;
  for (const auto& c : m.checks) {
    if (c.status == CheckStatus::kPass)
      ++pass;
    else if (c.status == CheckStatus::kWarn)
      ++warn;
    else
      ++fail;
  }
  const std::string banner = m.ready                         ? "ready"
                             : m.verdict == kVerdictNotReady ? "not-ready"
                                                             : "no-verdict";
  std::string out = "<header class=\"banner " + banner + "\"><div class=\"wrap\">";
  out += "<div class=\"verdict\"><span class=\"verdict-icon\" aria-hidden=\"true\">";
  out += m.ready ? "&#10003;" : m.verdict == kVerdictNotReady ? "&#10005;" : "&#8212;";
  out += "</span><h1 id=\"verdict\">";
  out += esc(verdict_heading(m.verdict));
  out += "</h1></div>";
  out += "<p class=\"subtitle\">" + run_title(m.run) + " &middot; " +
         esc(m.run.source.empty() ? "?" : m.run.source) + " &rarr; " +
         esc(m.run.target.empty() ? "?" : m.run.target) + " &middot; ";
  if (m.run.status == "done")
    out += "finished " + esc(time_text(m.run.finished_ms));
  else
    out += esc(m.run.status) +
           (m.run.finished_ms > 0 ? " at " + esc(time_text(m.run.finished_ms)) : "");
  out += "</p>";
  out += "<div class=\"tally\"><span>" + std::to_string(pass) + " passed</span><span>" +
         std::to_string(warn) + " warning" + (warn == 1 ? "" : "s") + "</span><span>" +
         std::to_string(fail) + " failed</span></div>";
  if (!m.reasons.empty()) {
    out += "<ul class=\"reasons\">";
    for (const auto& c : m.checks) {
      if (c.status != CheckStatus::kFail) continue;
      out += "<li class=\"fail\"><strong>" + esc(c.name) + ":</strong> " + esc(c.detail) + "</li>";
    }
    for (const auto& c : m.checks) {
      if (c.status != CheckStatus::kWarn) continue;
      out += "<li class=\"warn\"><strong>" + esc(c.name) + ":</strong> " + esc(c.detail) + "</li>";
    }
    out += "</ul>";
  }
  return out + "</div></header>";
}

std::string toc(const ReportModel& m) {
  std::string out = "<nav class=\"toc\" aria-label=\"Sections\"><div class=\"wrap\">";
  auto link = [&](const char* id, const char* text) {
    out += "<a href=\"#" + std::string(id) + "\">" + text + "</a>";
  };
  link("checks", "Checklist");
  if (has_rounds(m)) link("charts", "Charts");
  link("samples", "Differences");
  if (m.outcomes)
    link("outcomes", m.run.command == "replicate" ? "Replicate outcomes" : "Repair outcomes");
  if (m.parent) link("parent", "Repaired compare");
  if (!m.big_keys.keys.empty()) link("big-keys", "Big keys");
  link("run", "Run");
  link("servers", "Servers");
  link("integrity", "Integrity");
  return out + "</div></nav>";
}

std::string figure(std::string_view value, std::string_view label) {
  return "<div class=\"figure\"><div class=\"n\">" + esc(value) + "</div><div class=\"l\">" +
         esc(label) + "</div></div>";
}

std::string checklist(const ReportModel& m) {
  std::string out =
      "<section class=\"card\" id=\"checks\"><h2>Readiness checklist</h2><div class=\"figures\">";
  if (has_rounds(m)) {
    int64_t keys = m.rounds.empty() ? 0 : m.rounds.back().keys_checked;
    out += figure(m.rounds.empty() ? "-" : group_digits(keys), "keys checked in the last round");
    out += figure(group_digits(m.differences.total), "differences in the last round");
    out += figure(std::to_string(m.rounds.size()), m.rounds.size() == 1 ? "round" : "rounds");
  }
  if (m.outcomes) {
    out += figure(group_digits(m.outcomes->total), "keys handled by this " + m.run.command);
    out += figure(group_digits(m.outcomes->failed), "keys failed");
  }
  out += figure(duration_text(m.run.started_ms, m.run.finished_ms), "run duration");
  out +=
      "</div><h3>Checks</h3><div class=\"wide\"><table "
      "class=\"checks\"><thead><tr><th>Status</th><th>Check</th><th>Detail</th></tr></"
      "thead><tbody>";
  for (const auto& c : m.checks)
    out += "<tr class=\"" + std::string(to_string(c.status)) + "\" data-check=\"" + esc(c.id) +
           "\"><td>" + status_badge(c.status) + "</td><td>" + esc(c.name) +
           "</td><td class=\"detail\">" + esc(c.detail) + "</td></tr>";
  return out + "</tbody></table></div></section>";
}

std::vector<ChartBar> kind_bars(const DifferenceSummary& d) {
  std::vector<ChartBar> bars;
  std::map<std::string, int64_t> counts;
  for (const auto& k : d.by_kind) counts[k.name] = k.count;
  // The five known kinds always show, zeros included, so charts compare.
  for (auto k : kKnownKinds) {
    auto it = counts.find(std::string(k));
    bars.push_back({std::string(k), it == counts.end() ? 0 : it->second, kind_class(k)});
    if (it != counts.end()) counts.erase(it);
  }
  for (const auto& [name, count] : counts) bars.push_back({name, count, "kind-other"});
  return bars;
}

std::vector<ChartBar> type_bars(const DifferenceSummary& d) {
  std::vector<ChartBar> bars;
  for (const auto& t : d.by_type) bars.push_back({t.name, t.count, ""});
  std::stable_sort(bars.begin(), bars.end(),
                   [](const ChartBar& a, const ChartBar& b) { return a.value > b.value; });
  return bars;
}

std::string chart_figure(std::string_view caption, std::string_view note, const std::string& svg) {
  std::string out = "<figure><figcaption>" + esc(caption);
  if (!note.empty()) out += " <span class=\"muted\">" + esc(note) + "</span>";
  return out + "</figcaption>" + svg + "</figure>";
}

std::string convergence_chart(const std::vector<RoundRecord>& rounds) {
  std::vector<ChartBar> cols;
  for (const auto& r : rounds)
    cols.push_back(
        {"round " + std::to_string(r.round), r.differences, r.differences == 0 ? "converged" : ""});
  return svg_column_chart("Differences per round", cols, {.line = true, .x_label = "round"});
}

std::string charts(const ReportModel& m) {
  if (!has_rounds(m)) return "";
  std::string round =
      m.differences.round ? "round " + std::to_string(m.differences.round) : "no round";
  std::string out = "<section class=\"card\" id=\"charts\"><h2>Charts</h2><div class=\"charts\">";
  out += chart_figure("Differences by kind", "(" + round + ")",
                      svg_bar_chart("Differences by kind", kind_bars(m.differences)));
  out += chart_figure("Differences by type", "(" + round + "; target type for extras)",
                      svg_bar_chart("Differences by type", type_bars(m.differences)));
  out += chart_figure("Convergence across rounds", "(differences per round)",
                      convergence_chart(m.rounds));
  std::vector<ChartBar> drift;
  for (const auto& b : m.ttl_drift.buckets) drift.push_back({b.label, b.count, "kind-ttl"});
  drift.push_back({"one side", m.ttl_drift.one_sided, "one-sided"});
  std::string drift_svg =
      m.ttl_drift.total == 0
          ? svg_column_chart("TTL drift", {}, {})
          : svg_column_chart("TTL drift", drift, {.x_label = "|source TTL - target TTL|"});
  out += chart_figure("TTL drift",
                      "(" + group_digits(m.ttl_drift.total) +
                          " ttl differences; \"one side\" = TTL on one side only)",
                      drift_svg);
  return out + "</div></section>";
}

std::string key_cell(int db, std::string_view key) {
  std::string out = "<code class=\"key\">" + html_bytes(key) + "</code>";
  if (!is_valid_utf8(key)) out += "<span class=\"tag\">binary</span>";
  if (key.empty()) out += "<span class=\"tag\">empty key</span>";
  return out + "<span class=\"tag\">db" + std::to_string(db) + "</span>";
}

std::string size_text(int64_t n) {
  return n >= 0 ? group_digits(n) : "?";
}

std::string samples(const ReportModel& m) {
  std::string out = "<section class=\"card\" id=\"samples\"><h2>Sampled differences</h2>";
  if (!has_rounds(m)) {
    out += "<p class=\"muted\">This " + esc(m.run.command) +
           " run recorded no compare round of its own";
    out += m.parent ? ": the compare it repaired is summarised below.</p>" : ".</p>";
    return out + "</section>";
  }
  if (m.samples.empty()) {
    out += "<p class=\"muted\">No differences recorded";
    out += m.differences.round ? " in round " + std::to_string(m.differences.round) + ".</p>"
                               : ".</p>";
    return out + "</section>";
  }
  out += "<p class=\"muted\">The first " + group_digits(static_cast<int64_t>(m.samples.size())) +
         " of " + group_digits(m.differences.total) + " differences of round " +
         std::to_string(m.differences.round) +
         ". Bytes that are not UTF-8 and control characters show as \\xNN.</p>";
  std::set<std::string> kinds;
  for (const auto& d : m.samples) kinds.insert(d.kind);
  out +=
      "<div class=\"filters\"><label>Kind <select id=\"filter-kind\"><option value=\"\">all "
      "kinds</option>";
  for (const auto& k : kinds)
    out += "<option value=\"" + esc(k) + "\">" + html_bytes(k) + "</option>";
  out +=
      "</select></label><label>Text <input id=\"filter-text\" type=\"search\" placeholder=\"filter "
      "by key, type, detail\" "
      "autocomplete=\"off\"></label><output id=\"samples-count\"></output></div>";
  out +=
      "<div class=\"wide\"><table id=\"samples-table\" "
      "class=\"samples\"><thead><tr><th>Kind</th><th>Key</th>"
      "<th>Type src &rarr; tgt</th><th class=\"num\">TTL src</th><th class=\"num\">TTL tgt</th>"
      "<th class=\"num\">Size src / tgt</th><th>Detail</th></tr></thead><tbody>";
  for (const auto& d : m.samples) {
    out += "<tr data-kind=\"" + esc(d.kind) + "\"><td><span class=\"pill " + kind_class(d.kind) +
           "\">" + html_bytes(d.kind) + "</span></td><td>" + key_cell(d.db, d.key) + "</td><td>" +
           html_bytes(d.source_type) + " &rarr; " + html_bytes(d.target_type) +
           "</td><td class=\"num\">" + esc(ttl_text(d.source_ttl_ms)) + "</td><td class=\"num\">" +
           esc(ttl_text(d.target_ttl_ms)) + "</td><td class=\"num\">" + size_text(d.source_size) +
           " / " + size_text(d.target_size) + "</td><td class=\"detail\">" + html_bytes(d.detail);
    // Its values are printable_bytes() already: escaped for HTML only.
    if (auto loc = ValueLocation::from_json(d.location))
      out += "<div class=\"location\">" + esc(loc->summary()) + "</div>";
    out += "</td></tr>";
  }
  return out + "</tbody></table></div></section>";
}

std::string outcomes(const ReportModel& m) {
  if (!m.outcomes) return "";
  const OutcomeSummary& o = *m.outcomes;
  std::string title = m.run.command == "replicate" ? "Replicate outcomes" : "Repair outcomes";
  std::string out =
      "<section class=\"card\" id=\"outcomes\"><h2>" + esc(title) + "</h2><div class=\"charts\">";
  std::vector<ChartBar> bars;
  for (const auto& c : o.by_outcome)
    bars.push_back({c.name, c.count, c.name == "failed" ? "kind-missing" : "converged"});
  out += chart_figure("Keys by outcome",
                      "(" + group_digits(o.total) + " keys, " + group_digits(o.failed) + " failed)",
                      svg_bar_chart("Keys by outcome", bars));
  out += "</div>";
  if (o.failures.empty()) return out + "<p class=\"muted\">No key reported an error.</p></section>";
  out += "<h3>Keys with errors <span class=\"muted\">(first " + std::to_string(o.failures.size()) +
         ")</span></h3>";
  out +=
      "<div class=\"wide\"><table "
      "class=\"failures\"><thead><tr><th>Key</th><th>Action</th><th>Outcome</th><th>Error</th>"
      "<th>Detail</th></tr></thead><tbody>";
  for (const auto& f : o.failures)
    out += "<tr><td>" + key_cell(f.db, f.key) + "</td><td>" + html_bytes(to_string(f.action)) +
           "</td><td>" + html_bytes(to_string(f.outcome)) + "</td><td class=\"detail\">" +
           html_bytes(f.error) + "</td><td class=\"detail\">" + html_bytes(f.detail) + "</td></tr>";
  return out + "</tbody></table></div></section>";
}

std::string parent(const ReportModel& m) {
  if (!m.parent) return "";
  const ParentRun& p = *m.parent;
  std::string out = "<section class=\"card\" id=\"parent\"><h2>The compare this run repaired: " +
                    run_title(p.record) + "</h2>";
  out += "<dl class=\"facts\">";
  out += "<dt>Status</dt><dd>" + esc(p.record.status) + " (exit code " +
         std::to_string(p.record.exit_code) + ")</dd>";
  out += "<dt>Started</dt><dd>" + esc(time_text(p.record.started_ms)) + "</dd>";
  out += "<dt>Finished</dt><dd>" + esc(time_text(p.record.finished_ms)) + "</dd>";
  out += "<dt>Rounds</dt><dd>" + std::to_string(p.rounds.size()) + "</dd>";
  out += "<dt>Differences</dt><dd>" + group_digits(p.differences.total) +
         (p.differences.round ? " in round " + std::to_string(p.differences.round) : "") +
         "</dd></dl>";
  out += "<div class=\"charts spaced\">";
  out += chart_figure(
      "Differences by kind", "(compare run #" + std::to_string(p.record.id) + ")",
      svg_bar_chart("Differences by kind in the repaired compare", kind_bars(p.differences)));
  out += chart_figure("Convergence across rounds",
                      "(compare run #" + std::to_string(p.record.id) + ")",
                      convergence_chart(p.rounds));
  return out + "</div></section>";
}

std::string big_keys(const ReportModel& m) {
  if (m.big_keys.keys.empty()) return "";
  std::string out = "<section class=\"card\" id=\"big-keys\"><h2>Big keys <span class=\"muted\">(" +
                    group_digits(m.big_keys.count) +
                    ")</span></h2><div class=\"wide\"><table><thead><tr><th>Key</th>"
                    "<th>Type</th><th class=\"num\">Size</th></tr></thead><tbody>";
  for (const auto& k : m.big_keys.keys)
    out += "<tr><td>" + key_cell(k.db.value_or(0), k.key) + "</td><td>" +
           html_bytes(k.type.empty() ? "?" : k.type) + "</td><td class=\"num\">" +
           (k.size ? group_digits(*k.size) : "?") + "</td></tr>";
  return out + "</tbody></table></div></section>";
}

std::string run_section(const ReportModel& m) {
  const RunRecord& r = m.run;
  std::string out = "<section class=\"card\" id=\"run\"><h2>Run</h2><dl class=\"facts\">";
  auto row = [&](std::string_view k, const std::string& v_html) {
    out += "<dt>" + esc(k) + "</dt><dd>" + v_html + "</dd>";
  };
  row("Run", "#" + std::to_string(r.id) + " (" + esc(r.command) + ")");
  row("Status", esc(r.status) + " (exit code " + std::to_string(r.exit_code) + ")");
  if (r.parent) row("Parent run", "#" + std::to_string(*r.parent));
  row("Started", esc(time_text(r.started_ms)));
  row("Finished", esc(time_text(r.finished_ms)));
  row("Duration", esc(duration_text(r.started_ms, r.finished_ms)));
  row("Source", "<code>" + html_bytes(r.source) + "</code>");
  row("Target", "<code>" + html_bytes(r.target) + "</code>");
  row("migcheck (run)", esc(r.version.empty() ? "?" : r.version));
  row("migcheck (report)", esc(m.generator_version));
  out += "</dl>";
  if (!m.rounds.empty()) {
    out +=
        "<h3>Rounds</h3><div class=\"wide\"><table><thead><tr><th>Round</th><th class=\"num\">Keys "
        "checked</th>"
        "<th class=\"num\">Differences</th><th>Started</th><th "
        "class=\"num\">Duration</th></tr></thead><tbody>";
    for (const auto& rd : m.rounds)
      out += "<tr><td>" + std::to_string(rd.round) + "</td><td class=\"num\">" +
             group_digits(rd.keys_checked) + "</td><td class=\"num\">" +
             group_digits(rd.differences) + "</td><td>" + esc(time_text(rd.started_ms)) +
             "</td><td class=\"num\">" + esc(duration_text(rd.started_ms, rd.finished_ms)) +
             "</td></tr>";
    out += "</tbody></table></div>";
  }
  auto json_block = [](const nlohmann::json& j) {
    return "<pre class=\"json\">" +
           esc(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)) + "</pre>";
  };
  out += "<h3>Options</h3>" + json_block(m.options);
  if (!m.totals.empty()) out += "<h3>Totals</h3>" + json_block(m.totals);
  return out + "</section>";
}

std::string servers(const ReportModel& m) {
  std::string out =
      "<section class=\"card\" id=\"servers\"><h2>Servers</h2><div class=\"wide\"><table "
      "class=\"servers\">"
      "<thead><tr><th>Fact</th><th>Source</th><th>Target</th></tr></thead><tbody>";
  auto row = [&](std::string_view name, auto&& cell) {
    out += "<tr><td>" + esc(name) + "</td>";
    for (const ServerSide* s : {&m.source, &m.target}) {
      out += "<td>";
      out +=
          s->available ? cell(s->facts) : std::string("<span class=\"muted\">not recorded</span>");
      out += "</td>";
    }
    out += "</tr>";
  };
  out += "<tr><td>Endpoint</td><td><code>" + html_bytes(m.source.endpoint) +
         "</code></td><td><code>" + html_bytes(m.target.endpoint) + "</code></td></tr>";
  row("Engine", [](const ServerFacts& f) { return html_bytes(f.engine + " " + f.version); });
  row("Mode", [](const ServerFacts& f) {
    std::string s = html_bytes(f.mode);
    if (f.mode == "cluster") s += " (" + std::to_string(f.nodes.size()) + " nodes)";
    return s;
  });
  row("Role", [](const ServerFacts& f) { return html_bytes(f.role); });
  row("TLS", [](const ServerFacts& f) { return std::string(f.tls ? "yes" : "no"); });
  row("Keys (dbsize)", [](const ServerFacts& f) {
    int64_t total = 0;
    std::string dbs;
    for (auto [db, k] : f.keys_per_db) {
      total += k;
      dbs += (dbs.empty() ? "" : ", ") + ("db" + std::to_string(db)) + "=" + group_digits(k);
    }
    return group_digits(total) + (dbs.empty() ? "" : " <span class=\"muted\">(" + dbs + ")</span>");
  });
  row("used_memory", [](const ServerFacts& f) { return esc(bytes_or_unknown(f.used_memory)); });
  row("maxmemory", [](const ServerFacts& f) {
    return f.maxmemory == 0 ? std::string("0 (unlimited)") : esc(bytes_or_unknown(f.maxmemory));
  });
  row("maxmemory-policy", [](const ServerFacts& f) {
    return f.maxmemory_policy.empty() ? std::string("unknown") : html_bytes(f.maxmemory_policy);
  });
  row("notify-keyspace-events", [](const ServerFacts& f) {
    if (!f.config_allowed) return std::string("unknown (CONFIG not allowed)");
    return f.notify_keyspace_events.empty()
               ? std::string("\"\" (off)")
               : "<code>" + html_bytes(f.notify_keyspace_events) + "</code>";
  });
  row("RDB version (DUMP)", [](const ServerFacts& f) {
    return f.rdb_version ? std::to_string(*f.rdb_version)
                         : html_bytes(f.rdb_version_note.empty() ? "unknown" : f.rdb_version_note);
  });
  out += "</tbody></table></div>";
  for (const ServerSide* s : {&m.source, &m.target})
    if (!s->available)
      out += "<p class=\"muted\">" + std::string(s == &m.source ? "Source" : "Target") +
             " facts were not recorded: " + esc(s->unavailable_reason) + ".</p>";
  return out + "</section>";
}

std::string footer(const ReportModel& m, const HtmlContext& ctx) {
  std::string out = "<footer id=\"integrity\"><div class=\"wrap\"><p>SHA-256 of the JSON report";
  out += ctx.json_file.empty() ? " generated with this page (not written)"
                               : " <code>" + html_bytes(ctx.json_file) + "</code>";
  out += ": <code class=\"hash\" id=\"json-sha256\">" + esc(ctx.json_sha256) + "</code></p>";
  out += "<p>Generated by migcheck " + esc(m.generator_version) + " at " +
         esc(time_text(m.generated_ms)) + " &middot; report schema version " +
         std::to_string(m.schema_version) + "</p></div></footer>";
  return out;
}

}  // namespace

std::string report_csp(std::string_view script) {
  Sha256 digest = sha256(script);
  std::string hash =
      base64_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  return "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-" + hash +
         "'; img-src data:; base-uri 'none'; form-action 'none'";
}

std::string report_html(const ReportModel& m, const HtmlContext& ctx) {
  std::string_view css = required_asset("report.css");
  std::string_view script = required_asset("report.js");
  // The script is pasted raw; a closing tag inside it would end it early.
  if (script.find("</") != std::string_view::npos) throw Error("report.js must not contain \"</\"");
  std::string verdict = verdict_text(m.verdict);
  std::string out;
  out.reserve(64 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"" + report_csp(script) + "\">\n";
  out += "<meta name=\"referrer\" content=\"no-referrer\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<meta name=\"generator\" content=\"migcheck " + esc(m.generator_version) + "\">\n";
  out += "<title>" + verdict + " - migcheck " + run_title(m.run) + " - cutover readiness</title>\n";
  out += "<link rel=\"icon\" href=\"data:,\">\n";  // else the browser asks for /favicon.ico
  out += "<style>\n";
  out += css;
  out += "</style>\n</head>\n<body>\n";
  out += banner(m) + "\n" + toc(m) + "\n<main class=\"wrap\">\n";
  out += checklist(m) + "\n" + charts(m) + "\n" + samples(m) + "\n" + outcomes(m) + parent(m) +
         big_keys(m);
  out += run_section(m) + "\n" + servers(m) + "\n</main>\n" + footer(m, ctx) + "\n";
  // The script goes in byte for byte: its CSP hash is over this exact text.
  out += "<script>";
  out += script;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace migcheck

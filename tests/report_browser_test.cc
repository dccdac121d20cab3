// Browser tests of the HTML report: the page the CLI writes is opened in
// headless Chromium with networking disabled. The DOM Chromium builds must
// hold the hostile key names as text only, the page's own script must run
// (its CSP hash is right) with no console errors, the page must request
// nothing over the network (per Chromium's own NetLog), and the screenshot
// and PDF must render. Skips when /usr/bin/chromium is not installed.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "report_checks.h"
#include "report_fixture.h"

namespace fs = std::filesystem;
using namespace migcheck;
using namespace migcheck::test;

namespace {

constexpr const char* kChromium = "/usr/bin/chromium";

std::string quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct BrowserRun {
  int exit_code = -1;
  std::string out;
  std::string log;     // stderr: Chromium's log, console messages included
  nlohmann::json net;  // the NetLog, when asked for
};

// One headless Chromium, a fresh profile, every network switch off, and
// host names that resolve nowhere: a page request could not leave the machine
// even if one were attempted; the NetLog still records the attempt.
BrowserRun chromium(const ReportTempDir& tmp, const std::string& name,
                    const std::vector<std::string>& action, const fs::path& page) {
  fs::path profile = tmp.path() / ("profile-" + name);
  fs::path net = tmp.path() / ("netlog-" + name + ".json");
  std::vector<std::string> args = {kChromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-quic",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--user-data-dir=" + profile.string(),
                                   "--host-resolver-rules=MAP * ~NOTFOUND",
                                   "--enable-logging=stderr",
                                   "--v=0",
                                   "--log-net-log=" + net.string()};
  args.insert(args.end(), action.begin(), action.end());
  args.push_back("file://" + page.string());
  std::string cmd = "timeout 120";
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + quote(tmp.file("out-" + name)) + " 2>" + quote(tmp.file("log-" + name)) +
         " </dev/null";
  int status = std::system(cmd.c_str());
  BrowserRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_report_file(tmp.file("out-" + name));
  r.log = read_report_file(tmp.file("log-" + name));
  r.net = nlohmann::json::parse(read_report_file(net), nullptr, false);
  return r;
}

// URLs the page itself asked for. Chromium's own background fetches (update
// checks and the like) carry no page context; the page's requests carry its
// file:// origin in their isolation key.
std::vector<std::string> page_requests(const nlohmann::json& netlog) {
  std::vector<std::string> urls;
  if (!netlog.is_object() || !netlog.contains("constants") || !netlog.contains("events")) {
    urls.push_back("(no readable NetLog)");
    return urls;
  }
  int start_job = netlog["constants"]["logEventTypes"].value("URL_REQUEST_START_JOB", -1);
  for (const auto& e : netlog["events"]) {
    if (e.value("type", -2) != start_job || !e.contains("params")) continue;
    const auto& p = e["params"];
    std::string nik = p.value("network_isolation_key", "");
    std::string initiator = p.value("initiator", "");
    if (nik.find("file://") != std::string::npos || initiator == "null" ||
        initiator.starts_with("file://"))
      urls.push_back(p.value("url", "?"));
  }
  return urls;
}

// Console lines reporting blocked content or script errors.
std::vector<std::string> console_errors(const std::string& log) {
  std::vector<std::string> bad;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("CONSOLE") == std::string::npos) continue;
    if (line.find("Refused to") != std::string::npos ||
        line.find("Uncaught") != std::string::npos ||
        line.find("Content Security Policy") != std::string::npos ||
        line.find("ERR_") != std::string::npos)
      bad.push_back(line);
  }
  return bad;
}

// How Chromium serialises a text node: & < > escaped, quotes kept.
std::string as_dom_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

std::string title_of(const std::string& dom) {
  size_t a = dom.find("<title>"), b = dom.find("</title>");
  if (a == std::string::npos || b == std::string::npos || b < a) return "";
  return dom.substr(a + 7, b - a - 7);
}

void require_clean_dom(const BrowserRun& r, const std::string& what,
                       const std::vector<std::string_view>& keys,
                       const std::string& verdict = "NOT READY") {
  INFO(what << "\n" << r.log);
  REQUIRE(r.exit_code == 0);
  const std::string& dom = r.out;
  REQUIRE_THAT(dom, ContainsSubstring("</html>"));
  // The page's script ran: the CSP hash admitted it, and it filled the count.
  CHECK_THAT(dom, ContainsSubstring("data-report-script=\"ready\""));
  // The hostile names are text; none of them became an element.
  for (std::string_view key : keys) {
    INFO(key);
    CHECK_THAT(dom, ContainsSubstring(as_dom_text(key)));
  }
  CHECK(dom.find("<img") == std::string::npos);
  CHECK(count_of(dom, "<script") == 1);
  std::string title = title_of(dom);
  CHECK_THAT(title, StartsWith(verdict));
  CHECK(title.find("pwned") == std::string::npos);
  auto errors = console_errors(r.log);
  for (const auto& e : errors) UNSCOPED_INFO(e);
  CHECK(errors.empty());
  auto requests = page_requests(r.net);
  for (const auto& u : requests) UNSCOPED_INFO("page request: " << u);
  CHECK(requests.empty());
}

}  // namespace

TEST_CASE("report: browser renders the HTML report safely and offline", "[report][browser]") {
  if (!fs::exists(kChromium))
    SKIP("headless Chromium (" << kChromium << ") is not installed: apt-get install chromium");

  ReportTempDir tmp;
  std::string db = tmp.file("m.db");
  const ReportRuns runs = populate_report_file(db);
  for (int64_t run : {runs.compare, runs.repair}) {
    CliResult cli = run_migcheck_cli({"report", "--store", db, "--run", std::to_string(run), "-q"});
    INFO(cli.err);
    REQUIRE(cli.exit_code == 1);
  }
  fs::path compare_html =
      tmp.path() / ("migcheck-report-" + std::to_string(runs.compare) + ".html");
  fs::path repair_html = tmp.path() / ("migcheck-report-" + std::to_string(runs.repair) + ".html");
  REQUIRE(fs::exists(compare_html));
  REQUIRE(fs::exists(repair_html));

  // The file itself names nothing to fetch.
  for (const fs::path& p : {compare_html, repair_html}) {
    std::string html = read_report_file(p);
    for (std::string_view s : {"http:", "https:", "url(", "@import", " src=\"", "=\"//"}) {
      INFO(p << " contains " << s);
      CHECK(html.find(s) == std::string::npos);
    }
  }

  // The detectors below must be able to see what they guard against.
  SECTION("control: a page that misbehaves is caught") {
    fs::path bad = tmp.path() / "control.html";
    std::ofstream(bad) << "<!DOCTYPE html><html><head><title>control</title></head><body>"
                          "<img "
                          "src=\"http://example.invalid/x.png\"><script>undefinedFunction()</"
                          "script></body></html>";
    BrowserRun r = chromium(tmp, "control", {"--dump-dom"}, bad);
    INFO(r.log);
    CHECK(r.exit_code == 0);
    CHECK_FALSE(page_requests(r.net).empty());
    CHECK_FALSE(console_errors(r.log).empty());
  }

  SECTION("compare report: DOM, console and network") {
    require_clean_dom(chromium(tmp, "compare", {"--dump-dom"}, compare_html), "compare report",
                      {kScriptKey, kImgKey, kTitleKey});
    BrowserRun r = chromium(tmp, "compare-count", {"--dump-dom"}, compare_html);
    CHECK_THAT(r.out, ContainsSubstring(">11 of 11 shown</output>"));
  }

  SECTION("repair report: DOM, console and network") {
    // A repair with failed keys is described, never judged READY.
    require_clean_dom(chromium(tmp, "repair", {"--dump-dom"}, repair_html), "repair report",
                      {kScriptKey, kImgKey}, "INCOMPLETE");
  }

  SECTION("screenshot and PDF render") {
    fs::path shot = fs::path(MIGCHECK_BUILD_DIR) / "report-screenshot.png";
    fs::path pdf = fs::path(MIGCHECK_BUILD_DIR) / "report.pdf";
    fs::remove(shot);
    fs::remove(pdf);
    BrowserRun s =
        chromium(tmp, "shot",
                 {"--screenshot=" + shot.string(), "--window-size=1280,2000", "--hide-scrollbars"},
                 compare_html);
    INFO(s.log);
    CHECK(s.exit_code == 0);
    REQUIRE(fs::exists(shot));
    CHECK(fs::file_size(shot) > 50 * 1024);  // a blank 1280x2000 PNG is a few KiB
    CHECK(console_errors(s.log).empty());

    BrowserRun p = chromium(
        tmp, "pdf", {"--print-to-pdf=" + pdf.string(), "--no-pdf-header-footer"}, compare_html);
    INFO(p.log);
    CHECK(p.exit_code == 0);
    REQUIRE(fs::exists(pdf));
    CHECK(fs::file_size(pdf) > 20 * 1024);
    CHECK(read_report_file(pdf).starts_with("%PDF-"));

    // A second screenshot of the repair report, for people reviewing layout.
    chromium(
        tmp, "shot-repair",
        {"--screenshot=" + (fs::path(MIGCHECK_BUILD_DIR) / "report-screenshot-repair.png").string(),
         "--window-size=1280,2000", "--hide-scrollbars"},
        repair_html);
  }
}

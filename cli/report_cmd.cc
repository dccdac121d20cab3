// `migcheck report`: the cutover-readiness report of one run, as JSON and/or
// HTML. Reads the store (never creates or changes it) and writes files
// atomically, so a reviewer never opens a half-written report.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "assets.h"
#include "cli.h"
#include "commands.h"
#include "encoding.h"
#include "errors.h"
#include "log.h"
#include "report_html.h"
#include "report_json.h"
#include "report_model.h"
#include "store.h"

namespace migcheck {
namespace {

namespace fs = std::filesystem;

struct ReportOptions {
  CommonOptions common;
  int64_t run = 0;     // 0 = latest
  std::string format;  // "", "json" or "html"
  std::string out;
  size_t samples = 100;
  bool print_schema = false;
};

// Writes to a sibling temporary file and renames it over `path`.
void write_file(const fs::path& path, std::string_view bytes) {
  fs::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error("cannot write report " + path.string() + ": " + std::strerror(errno));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!f) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error("cannot write report " + path.string() + ": write failed");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot write report " + path.string() + ": " + ec.message());
  }
}

void write_stdout(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() ||
      std::fflush(stdout) != 0)
    throw Error(std::string("cannot write report to stdout: ") + std::strerror(errno));
}

std::string default_name(int64_t run, std::string_view ext) {
  return "migcheck-report-" + std::to_string(run) + "." + std::string(ext);
}

int run_report(const ReportOptions& o) {
  log::set_quiet(o.common.quiet);
  log::set_verbose(o.common.verbose);
  if (o.print_schema) {
    std::string_view schema = asset("report.schema.json");
    if (schema.empty()) throw Error("the report schema is missing from this build");
    write_stdout(schema);
    return kExitSame;
  }
  const bool to_stdout = o.out == "-";
  if (to_stdout && o.format.empty())
    throw UsageError("--out - writes one format to stdout: add --format json or --format html");
  const bool want_json = o.format.empty() || o.format == "json";
  const bool want_html = o.format.empty() || o.format == "html";

  // Paths are settled before any work, so a bad --out fails fast.
  std::error_code ec;
  fs::path dir, file;
  if (!to_stdout) {
    if (o.out.empty()) {
      dir = fs::path(o.common.store).parent_path();
      if (dir.empty()) dir = ".";
    } else if (fs::is_directory(o.out, ec)) {
      dir = o.out;
    } else if (want_json && want_html) {
      throw UsageError(
          "--out " + o.out +
          " is not a directory: with both formats give a directory, or choose one with --format");
    } else {
      file = o.out;
    }
  }

  Store store(o.common.store, /*create=*/false, /*read_only=*/true);
  BuildOptions build;
  if (o.run != 0) build.run = o.run;
  build.sample_limit = o.samples;
  build.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  ReportModel model = build_report(store, build);

  const std::string json = report_json_text(model);
  HtmlContext ctx{hex(sha256(json)), ""};
  auto target = [&](std::string_view ext) {
    return file.empty() ? dir / default_name(model.run.id, ext) : file;
  };

  if (to_stdout) {
    write_stdout(want_json ? json : report_html(model, ctx));
  } else {
    if (want_json) {
      fs::path p = target("json");
      write_file(p, json);
      ctx.json_file = p.filename().string();
      log::info("wrote " + p.string());
    }
    if (want_html) {
      fs::path p = target("html");
      write_file(p, report_html(model, ctx));
      log::info("wrote " + p.string());
    }
  }
  size_t failed = 0, warned = 0;
  for (const auto& c : model.checks) {
    if (c.status == CheckStatus::kFail)
      ++failed;
    else if (c.status == CheckStatus::kWarn)
      ++warned;
  }
  log::info(model.run.command + " run #" + std::to_string(model.run.id) + ": " +
            verdict_text(model.verdict) + " (" + std::to_string(failed) + " failed, " +
            std::to_string(warned) + (warned == 1 ? " warning)" : " warnings)"));
  // diff(1)-style, so scripts can gate a cutover on the exit code: 0 only
  // for a READY compare, never for a run that writes.
  return model.ready && model.verdict == kVerdictReady ? kExitSame : kExitDiffer;
}

}  // namespace

void add_report_command(CLI::App& app, Runner& run) {
  auto [opts, sub] = add_command<ReportOptions>(
      app, run, "report", "Write the cutover-readiness report of a run (JSON and/or HTML)",
      run_report);
  sub->add_option("--run", opts->run,
                  "run id (default: the latest compare run; repair and replicate runs are "
                  "described, never READY)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--format", opts->format, "json or html (default: both)")
      ->check(CLI::IsMember({"json", "html"}));
  sub->add_option("--out", opts->out,
                  "output file, or directory for both formats, or - for stdout (with --format); "
                  "default: next to the store as migcheck-report-<run>.json/.html");
  sub->add_option("--samples", opts->samples, "differences (and failed keys) listed in the report")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  sub->add_flag("--print-schema", opts->print_schema,
                "print the JSON Schema of the JSON report and exit");
  add_offline_flags(*sub, opts->common);
  sub->footer(
      "Exit status: 0 READY, 1 anything else (NOT READY, INCOMPLETE, or a repair/replicate run), "
      "2 error.");
}

}  // namespace migcheck

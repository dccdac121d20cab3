// `migcheck diffs`: lists the differences of a compare run from the store, as
// a terminal-safe table or as JSON lines (binary keys in key_base64).
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "commands.h"
#include "errors.h"
#include "log.h"
#include "store.h"

namespace migcheck {
namespace {

struct DiffsCli {
  std::string store = "migcheck.db";
  int64_t run = 0;
  int round = 0;
  std::vector<std::string> kinds;
  std::string format = "table";
};

// Length of the well-formed UTF-8 sequence at s[i] (no overlongs, no
// surrogates, <= U+10FFFF), or 0; `cp` receives the code point.
size_t utf8_seq(std::string_view s, size_t i, uint32_t& cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  size_t n;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else
    return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

bool valid_utf8(std::string_view s) {
  uint32_t cp;
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_seq(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Printable for a terminal: control bytes, DEL, backslash, invalid UTF-8, C1
// controls and bidi overrides become \xNN, so a key cannot move the cursor,
// recolour the screen or reorder the line.
std::string escape_for_terminal(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  auto hex = [&](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  };
  uint32_t cp = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      out += "\\\\";
      ++i;
      continue;
    }
    size_t n = utf8_seq(s, i, cp);
    const bool unsafe = n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
                        (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
                        cp == 0x200e || cp == 0x200f || cp == 0x061c;
    if (unsafe) {
      n = n == 0 ? 1 : n;
      for (size_t k = 0; k < n; ++k) hex(static_cast<unsigned char>(s[i + k]));
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string side_text(const std::string& type, int64_t ttl) {
  if (type == "none" || ttl == -2) return "absent";
  if (ttl == -1) return type + ", no ttl";
  return type + ", ttl " + std::to_string(ttl) + "ms";
}

int run(const DiffsCli& c) {
  Store store(c.store, false);
  std::optional<RunRecord> rec;
  if (c.run > 0) {
    rec = store.run(c.run);
    if (!rec) throw UsageError("store " + c.store + " has no run " + std::to_string(c.run));
  } else {
    rec = store.latest_run("compare");
    if (!rec)
      throw UsageError("store " + c.store + " has no compare run: run migcheck compare first");
  }
  DifferenceFilter f;
  if (c.round > 0) f.round = c.round;
  f.kinds = c.kinds;

  if (c.format == "jsonl") {
    std::string line;
    store.for_each_difference(rec->id, f, [&](const Difference& d) {
      nlohmann::json j;
      j["run"] = rec->id;
      j["round"] = d.round;
      j["db"] = d.db;
      if (valid_utf8(d.key))
        j["key"] = d.key;
      else
        j["key_base64"] = base64(d.key);
      j["kind"] = d.kind;
      j["source_type"] = d.source_type;
      j["target_type"] = d.target_type;
      j["source_ttl_ms"] = d.source_ttl_ms;
      j["target_ttl_ms"] = d.target_ttl_ms;
      j["source_size"] = d.source_size;
      j["target_size"] = d.target_size;
      if (!d.source_digest.empty()) j["source_digest"] = d.source_digest;
      if (!d.target_digest.empty()) j["target_digest"] = d.target_digest;
      if (!d.detail.empty()) j["detail"] = d.detail;
      line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), stdout);
    });
    std::fflush(stdout);
    return kExitSame;
  }

  // The header names the round the rows come from (the last one recorded
  // when none is asked for; an interrupted run may have rows of a round it
  // never finished).
  auto header = [&](int round) {
    std::printf("run %lld (%s %s, %s -> %s), round %d\n", static_cast<long long>(rec->id),
                rec->command.c_str(), rec->status.c_str(), escape_for_terminal(rec->source).c_str(),
                escape_for_terminal(rec->target).c_str(), round);
    std::printf("%-8s  %-26s  %-26s  %s\n", "KIND", "SOURCE", "TARGET", "KEY");
  };
  int64_t n = 0;
  store.for_each_difference(rec->id, f, [&](const Difference& d) {
    if (n++ == 0) header(d.round);
    std::string line = d.kind;
    line.resize(std::max<size_t>(line.size(), 8), ' ');
    std::string src = side_text(d.source_type, d.source_ttl_ms),
                tgt = side_text(d.target_type, d.target_ttl_ms);
    src.resize(std::max<size_t>(src.size(), 26), ' ');
    tgt.resize(std::max<size_t>(tgt.size(), 26), ' ');
    line += "  " + escape_for_terminal(src) + "  " + escape_for_terminal(tgt) + "  " +
            escape_for_terminal(d.key);
    if (!d.detail.empty()) line += "\n          " + escape_for_terminal(d.detail);
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
  });
  if (n == 0) header(c.round > 0 ? c.round : store.last_round(rec->id));
  std::printf("%lld difference%s\n", static_cast<long long>(n), n == 1 ? "" : "s");
  std::fflush(stdout);
  return kExitSame;
}

}  // namespace

void add_diffs_command(CLI::App& app, Runner& runner) {
  auto c = std::make_shared<DiffsCli>();
  auto* sub = app.add_subcommand(
      "diffs", "List the differences of a compare run (default: the latest, its last round)");
  sub->add_option("--store", c->store, "SQLite result store")->capture_default_str();
  sub->add_option("--run", c->run, "run id (default: the latest compare run)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--round", c->round, "round (default: the run's last round)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--kind", c->kinds, "only this kind (repeatable)")
      ->check(CLI::IsMember({"missing", "extra", "type", "ttl", "value"}));
  sub->add_option("--format", c->format, "table or jsonl")
      ->check(CLI::IsMember({"table", "jsonl"}))
      ->capture_default_str();
  sub->callback([&runner, c] { runner = [c] { return run(*c); }; });
}

}  // namespace migcheck

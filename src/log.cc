// stderr logger shared by all commands.
#include "log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "printable.h"

namespace migcheck::log {
namespace {

std::atomic<bool> g_quiet{false};
std::atomic<bool> g_verbose{false};
std::mutex g_mu;
bool g_progress_shown = false;  // a TTY progress line is on screen

bool stderr_tty() {
  static const bool tty = isatty(STDERR_FILENO) == 1;
  return tty;
}

void emit(std::string_view prefix, std::string_view msg) {
  std::lock_guard lock(g_mu);
  if (g_progress_shown) {
    std::fputs("\r\033[K", stderr);
    g_progress_shown = false;
  }
  // Messages quote servers' errors and command-line bytes: no escape
  // sequence of theirs reaches the terminal.
  std::string line(prefix);
  line.append(terminal_text(msg)).push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

void set_quiet(bool q) {
  g_quiet = q;
}
bool quiet() {
  return g_quiet;
}
void set_verbose(bool v) {
  g_verbose = v;
}
bool verbose() {
  return g_verbose;
}

void info(std::string_view msg) {
  if (!g_quiet) emit("", msg);
}
void warn(std::string_view msg) {
  emit("warning: ", msg);
}
void error(std::string_view msg) {
  emit("error: ", msg);
}
void debug(std::string_view msg) {
  if (g_verbose) emit("debug: ", msg);
}

void progress_line(std::string_view line, bool is_final) {
  if (g_quiet) return;
  std::lock_guard lock(g_mu);
  if (stderr_tty()) {
    std::string out = "\r\033[K" + terminal_text(line);
    if (is_final) {
      out.push_back('\n');
      g_progress_shown = false;
    } else {
      g_progress_shown = true;
    }
    std::fwrite(out.data(), 1, out.size(), stderr);
  } else {
    std::string out = terminal_text(line);
    out.push_back('\n');
    std::fwrite(out.data(), 1, out.size(), stderr);
  }
  std::fflush(stderr);
}

}  // namespace migcheck::log

// Progress ticker: formats the line and decides when to print it.
#include "progress.h"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>

#include "duration.h"
#include "log.h"

namespace migcheck {

std::string grouped(int64_t v) {
  // Appended digit by digit: GCC 12 warns (-Wrestrict, falsely) on
  // string::insert once this is inlined into a longer caller.
  const std::string digits = std::to_string(v < 0 ? -v : v);
  std::string s = v < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s.push_back(',');
    s.push_back(digits[i]);
  }
  return s;
}

namespace {

// "round 2 in 4s": whole seconds, rounded up, so "in 0s" only once the wait
// is over.
std::string countdown_line(const std::string& label, std::chrono::steady_clock::time_point at) {
  const int64_t left =
      std::chrono::ceil<std::chrono::seconds>(at - std::chrono::steady_clock::now()).count();
  return label + " in " + std::to_string(left < 0 ? 0 : left) + "s";
}

}  // namespace

Progress::Progress(bool enabled) : enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1) {
  if (enabled_) ticker_ = std::thread([this] { run(); });
}

Progress::Progress(bool enabled, std::function<std::string()> line)
    : enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1), custom_line_(std::move(line)) {
  started_ = std::chrono::steady_clock::now();
  active_ = true;
  if (enabled_) ticker_ = std::thread([this] { run(); });
}

Progress::~Progress() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void Progress::start(std::string label, int64_t total) {
  std::lock_guard lock(mu_);
  label_ = std::move(label);
  total_ = total;
  keys_ = 0;
  diffs_ = 0;
  started_ = std::chrono::steady_clock::now();
  active_ = true;
  counting_down_ = false;
}

void Progress::countdown(std::string next_label, std::chrono::steady_clock::time_point at) {
  std::lock_guard lock(mu_);
  label_ = std::move(next_label);
  next_at_ = at;
  counting_down_ = true;
  active_ = true;
}

void Progress::finish() {
  // Under the ticker's lock: no redraw can come after the final line.
  std::lock_guard lock(mu_);
  if (!active_) return;
  active_ = false;
  if (enabled_ && !counting_down_) log::progress_line(line_locked(), true);
  counting_down_ = false;
}

std::string Progress::line() const {
  std::lock_guard lock(mu_);
  return line_locked();
}

std::string Progress::line_locked() const {
  if (counting_down_) return countdown_line(label_, next_at_);
  if (custom_line_) return custom_line_();
  const std::string& label = label_;
  const int64_t total = total_;
  const auto started = started_;
  const int64_t keys = keys_.load();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double rate = secs > 0.05 ? static_cast<double>(keys) / secs : 0;
  std::string out = label + ": " + grouped(keys);
  if (total > 0) {
    char pct[32];
    std::snprintf(pct, sizeof pct, " (%.1f%%)",
                  std::min(100.0, 100.0 * static_cast<double>(keys) / static_cast<double>(total)));
    out += " of " + grouped(total) + " keys" + pct;
  } else {
    out += " keys";
  }
  // A rate over less than a second says nothing ("0 keys/s" on short rounds).
  if (secs >= 1) out += ", " + grouped(static_cast<int64_t>(rate)) + " keys/s";
  if (total > keys && rate > 0)
    out += ", ETA " + format_duration(Millis(
                          static_cast<int64_t>(1000.0 * static_cast<double>(total - keys) / rate)));
  out += ", elapsed " + format_duration(Millis(static_cast<int64_t>(secs * 1000)));
  const int64_t d = diffs_.load();
  out += ", " + grouped(d) + (d == 1 ? " difference" : " differences");
  return out;
}

void Progress::run() {
  // TTY: redraw twice a second. Not a TTY (logs, CI): a line every 10 s.
  const auto every = tty_ ? std::chrono::milliseconds(500) : std::chrono::milliseconds(10000);
  std::unique_lock lock(mu_);
  auto next = std::chrono::steady_clock::now() + every;
  while (!stop_) {
    cv_.wait_until(lock, next, [this] { return stop_; });
    if (stop_) break;
    next = std::chrono::steady_clock::now() + every;
    if (active_) log::progress_line(line_locked(), false);
  }
}

}  // namespace migcheck

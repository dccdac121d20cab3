// In-place masking of secrets in argv.
#include "argv_scrub.h"

#include <cstring>
#include <string_view>

namespace migcheck {
namespace {

// Masks [from, to) and remembers what it held.
void mask(char* from, char* to, std::vector<std::string>& secrets) {
  if (from < to) secrets.emplace_back(from, static_cast<size_t>(to - from));
  for (char* p = from; p < to; ++p) *p = '*';
}

void scrub_uri(char* arg, std::vector<std::string>& secrets) {
  char* scheme = std::strstr(arg, "://");
  if (!scheme) return;
  char* userinfo = scheme + 3;
  char* at = std::strrchr(userinfo, '@');
  if (!at) return;
  char* colon = static_cast<char*>(std::memchr(userinfo, ':', static_cast<size_t>(at - userinfo)));
  // "user@" alone is a password, as in redis-cli.
  mask(colon ? colon + 1 : userinfo, at, secrets);
}

bool is_pass_flag(std::string_view a) {
  return a == "--source-pass" || a == "--target-pass" || a == "--source-sentinel-pass" ||
         a == "--target-sentinel-pass";
}

}  // namespace

std::vector<std::string> scrub_argv(int argc, char** argv) {
  std::vector<std::string> secrets;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (is_pass_flag(a) && i + 1 < argc) {
      char* v = argv[++i];
      mask(v, v + std::strlen(v), secrets);
      continue;
    }
    if (auto eq = a.find('='); eq != std::string_view::npos && is_pass_flag(a.substr(0, eq))) {
      mask(argv[i] + eq + 1, argv[i] + a.size(), secrets);
      continue;
    }
    scrub_uri(argv[i], secrets);
  }
  return secrets;
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    for (size_t at = text.find(s); at != std::string::npos; at = text.find(s, at + 3))
      text.replace(at, s.size(), "***");
  }
  return text;
}

}  // namespace migcheck

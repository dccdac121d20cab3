// In-place masking of secrets in argv.
#include "argv_scrub.h"

#include <cstring>
#include <string_view>

namespace migcheck {
namespace {

void mask(char* from, char* to) {
  for (char* p = from; p < to; ++p) *p = '*';
}

void scrub_uri(char* arg) {
  char* scheme = std::strstr(arg, "://");
  if (!scheme) return;
  char* userinfo = scheme + 3;
  char* at = std::strrchr(userinfo, '@');
  if (!at) return;
  char* colon = static_cast<char*>(std::memchr(userinfo, ':', static_cast<size_t>(at - userinfo)));
  mask(colon ? colon + 1 : userinfo, at);  // "user@" alone is a password, as in redis-cli
}

bool is_pass_flag(std::string_view a) {
  return a == "--source-pass" || a == "--target-pass";
}

}  // namespace

void scrub_argv(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (is_pass_flag(a) && i + 1 < argc) {
      char* v = argv[++i];
      mask(v, v + std::strlen(v));
      continue;
    }
    if (auto eq = a.find('='); eq != std::string_view::npos && is_pass_flag(a.substr(0, eq))) {
      mask(argv[i] + eq + 1, argv[i] + a.size());
      continue;
    }
    scrub_uri(argv[i]);
  }
}

}  // namespace migcheck

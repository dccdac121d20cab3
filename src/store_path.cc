// Store path facts: see store_path.h.
#include "store_path.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace migcheck {

std::string read_only_cause(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (::access(dir.c_str(), W_OK) != 0 && errno != ENOENT)
    return " (the directory " + dir.string() + " is not writable: " + std::strerror(errno) +
           "; a store needs to create its -wal and -shm files beside it)";
  if (::access(path.c_str(), W_OK) != 0 && errno != ENOENT)
    return " (the file is not writable: " + std::string(std::strerror(errno)) + ")";
  return "";
}

std::string file_uri(const std::string& path, std::string_view query) {
  std::string out = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "?" + std::string(query);
}

}  // namespace migcheck

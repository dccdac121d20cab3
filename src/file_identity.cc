// A snapshot file's identity for resume checks (file_identity.h).
#include "file_identity.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string_view>

#include "encoding.h"
#include "errors.h"

namespace migcheck {

nlohmann::json file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw UsageError("cannot open snapshot file " + path);
  std::string head(std::min<uint64_t>(static_cast<uint64_t>(st.st_size), 1 << 20), '\0');
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    const size_t got = std::fread(head.data(), 1, head.size(), f);
    std::fclose(f);
    head.resize(got);
  }
  return {{"size", static_cast<uint64_t>(st.st_size)},
          {"mtime_ns", static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec},
          {"head_sha256", hex(sha256(head))}};
}

int rdb_header_version(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char h[9] = {};
  if (!in.read(h, sizeof h) || std::string_view(h, 5) != "REDIS") return 0;
  int v = 0;
  for (char c : std::string_view(h + 5, 4)) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace migcheck

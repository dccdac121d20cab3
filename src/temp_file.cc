// Unnamed temporary files and whole-buffer positioned I/O.
#include "temp_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "errors.h"

namespace migcheck {
namespace {

[[noreturn]] void io_error(std::string_view purpose, const std::string& what) {
  throw Error(std::string(purpose) + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

Fd open_temp_file(std::string_view purpose, std::string_view prefix) {
  const char* env = std::getenv("TMPDIR");
  const std::string dir = env && *env ? env : "/tmp";
  // O_TMPFILE: never has a name. Otherwise a named file, unlinked at once.
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return Fd(fd);
  std::string path = dir + "/" + std::string(prefix) + "-XXXXXX";
  fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) io_error(purpose, "cannot create one in " + dir);
  ::unlink(path.c_str());
  return Fd(fd);
}

void write_all_at(int fd, const void* data, size_t n, uint64_t offset, std::string_view purpose) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) io_error(purpose, "cannot write");
    p += w;
    offset += static_cast<uint64_t>(w);
    n -= static_cast<size_t>(w);
  }
}

void read_all_at(int fd, void* data, size_t n, uint64_t offset, std::string_view purpose) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO;
      io_error(purpose, "cannot read");
    }
    p += r;
    offset += static_cast<uint64_t>(r);
    n -= static_cast<size_t>(r);
  }
}

}  // namespace migcheck

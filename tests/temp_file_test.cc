// Unnamed temporary files (src/temp_file.h): nothing named is left behind,
// positioned whole-buffer I/O round-trips, a short read is an error that
// names the file's purpose.
#include "temp_file.h"

#include <catch2/catch_test_macros.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "errors.h"

using namespace migcheck;

TEST_CASE("temp file: written and read back at offsets, no name left in the directory") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("migcheck-temp-file-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old ? old : "";
  ::setenv("TMPDIR", dir.c_str(), 1);
  {
    Fd fd = open_temp_file("test file", "migcheck-test");
    REQUIRE(fd.fd >= 0);
    CHECK(std::filesystem::is_empty(dir));
    const std::string a = "first record", b = "second";
    write_all_at(fd.fd, a.data(), a.size(), 0, "test file");
    write_all_at(fd.fd, b.data(), b.size(), 100, "test file");
    std::string got(b.size(), '\0');
    read_all_at(fd.fd, got.data(), got.size(), 100, "test file");
    CHECK(got == b);
    got.assign(a.size(), '\0');
    read_all_at(fd.fd, got.data(), got.size(), 0, "test file");
    CHECK(got == a);
    std::string past(10, '\0');
    try {
      read_all_at(fd.fd, past.data(), past.size(), 104, "test file");
      FAIL("a read past the end must throw");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("test file: cannot read") == 0);
    }
  }
  if (old)
    ::setenv("TMPDIR", saved.c_str(), 1);
  else
    ::unsetenv("TMPDIR");
  std::filesystem::remove_all(dir);
}

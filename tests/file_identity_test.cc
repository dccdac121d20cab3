// Unit tests of src/file_identity.h: a snapshot file's identity changes with
// its size, modification time or first MiB, and not otherwise; the RDB
// version is read from a file's header.
#include <catch2/catch_test_macros.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "errors.h"
#include "file_identity.h"

using namespace migcheck;

namespace {

std::string write_file(const std::string& name, const std::string& bytes) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("migcheck-fileid-" + name + "-" + std::to_string(::getpid()));
  std::ofstream(p, std::ios::binary) << bytes;
  return p.string();
}

}  // namespace

TEST_CASE("file_identity: size, mtime and the first MiB", "[snapshot][resume]") {
  std::string body = "REDIS0011" + std::string(3 << 20, 'a');
  const std::string path = write_file("id", body);
  const auto id = file_identity(path);
  CHECK(id["size"] == body.size());
  CHECK(file_identity(path) == id);
  const auto mtime = std::filesystem::last_write_time(path);
  std::filesystem::last_write_time(path, mtime + std::chrono::seconds(5));
  CHECK(file_identity(path) != id);
  std::filesystem::last_write_time(path, mtime);
  CHECK(file_identity(path) == id);
  // A byte changed in the first MiB, same size and mtime.
  body[1000] = 'b';
  std::ofstream(path, std::ios::binary) << body;
  std::filesystem::last_write_time(path, mtime);
  CHECK(file_identity(path)["head_sha256"] != id["head_sha256"]);
  CHECK(file_identity(path)["size"] == id["size"]);
  std::filesystem::remove(path);
  CHECK_THROWS_AS(file_identity(path), UsageError);
}

TEST_CASE("rdb_header_version", "[snapshot]") {
  const std::string good = write_file("v", "REDIS0011rest"), bad = write_file("b", "REDIX0011");
  const std::string digits = write_file("d", "REDIS00a1"), shrt = write_file("s", "REDIS");
  CHECK(rdb_header_version(good) == 11);
  CHECK(rdb_header_version(bad) == 0);
  CHECK(rdb_header_version(digits) == 0);
  CHECK(rdb_header_version(shrt) == 0);
  for (const auto& p : {good, bad, digits, shrt}) std::filesystem::remove(p);
}

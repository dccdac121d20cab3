// What the file system says about a store's path (src/store_path.h).
#include "store_path.h"

#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>

using Catch::Matchers::ContainsSubstring;
using migcheck::file_uri;
using migcheck::read_only_cause;

TEST_CASE("store path: file URIs escape what SQLite would read as URI syntax", "[store_path]") {
  CHECK(file_uri("/a/b?c#d%e.db", "immutable=1") == "file:/a/b%3Fc%23d%25e.db?immutable=1");
  CHECK(file_uri("rel/s.db", "mode=ro") == "file:rel/s.db?mode=ro");
}

TEST_CASE("store path: a writable place has no read-only cause", "[store_path]") {
  const auto dir = std::filesystem::temp_directory_path();
  CHECK(read_only_cause((dir / ("migcheck-path-" + std::to_string(::getpid()))).string()).empty());
  // /proc refuses writes even to root.
  CHECK_THAT(read_only_cause("/proc/self/migcheck.db"), ContainsSubstring("is not writable"));
}

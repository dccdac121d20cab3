// A snapshot file as a compare source: --db, --match and --type filters,
// keys already expired at the start counted and skipped, module type names.
#include "rdb_source.h"

#include <catch2/catch_test_macros.hpp>

#include <unistd.h>

#include <fstream>
#include <set>
#include <string>

#include "rdb_writer.h"

using namespace migcheck;

namespace {

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& bytes)
      : path("/tmp/migcheck-rdbsource-" + std::to_string(::getpid()) + ".rdb") {
    std::ofstream(path, std::ios::binary) << bytes;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

std::set<std::string> keys_of(const std::string& path, const RdbSourceOptions& o,
                              RdbSourceTotals* totals = nullptr) {
  std::set<std::string> out;
  RdbSourceTotals t = read_rdb_source(
      path, o, [&](const RdbKeyState& s) { out.insert(std::to_string(s.db) + ":" + s.key); });
  if (totals) *totals = t;
  return out;
}

}  // namespace

TEST_CASE("rdb source: filters and already-expired keys", "[rdb]") {
  test::RdbWriter w(9);
  w.select(0).key(0, "user:1").str("a");
  w.expire_ms(5000).key(0, "user:old").str("expired at 5000");
  w.expire_ms(50000).key(0, "user:later").str("expires at 50000");
  w.key(4, "user:h").len(1).str("f").str("v");
  w.key(7, "mod").len(uint64_t{0x123456789} << 10).len(0);
  w.select(2).key(0, "user:2").str("b");
  TempFile f(w.finish());

  RdbSourceTotals t;
  RdbSourceOptions all;
  all.now_ms = 10000;
  CHECK(keys_of(f.path, all, &t) ==
        std::set<std::string>{"0:user:1", "0:user:later", "0:user:h", "0:mod", "2:user:2"});
  CHECK(t.keys == 5);
  CHECK(t.expired_skipped == 1);
  CHECK(t.rdb_version == 9);

  RdbSourceOptions db2 = all;
  db2.db = 2;
  CHECK(keys_of(f.path, db2, &t) == std::set<std::string>{"2:user:2"});
  CHECK(t.filtered == 5);

  RdbSourceOptions match = all;
  match.match = "user:[1h]";
  CHECK(keys_of(f.path, match) == std::set<std::string>{"0:user:1", "0:user:h"});

  RdbSourceOptions types = all;
  types.types = {"hash"};
  CHECK(keys_of(f.path, types) == std::set<std::string>{"0:user:h"});
  types.types = {module_type_name(uint64_t{0x123456789} << 10)};
  CHECK(keys_of(f.path, types) == std::set<std::string>{"0:mod"});

  RdbSourceOptions early = all;
  early.now_ms = 1000;  // before the first expiry: nothing skipped
  CHECK(keys_of(f.path, early, &t).size() == 6);
  CHECK(t.expired_skipped == 0);
}

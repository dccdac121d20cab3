// The chunked copy of big values (replicate/big_key_copy.cc) when it cannot
// complete: the temporary key it built on the target is deleted (TempKey),
// the key's outcome is failed with the server's text, and the target's
// value is left as it was.
#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

#include "copier.h"
#include "server_fixture.h"
#include "test_util.h"

using namespace migcheck;
namespace t = migcheck::test;

TEST_CASE("big key copy: a copy refused at its last step (RENAME) leaves no temporary key",
          "[integration]") {
  t::TestServer source;
  // Every chunk is written; only the RENAME into place is refused.
  t::TestServer target(t::ServerOptions{.acl_users = {"writer on >pw ~* +@all -rename"}});
  std::vector<std::string> list{"RPUSH", "big:list"}, hash{"HSET", "big:hash"};
  for (int i = 0; i < 3000; ++i) {
    list.push_back("element-" + std::to_string(i));
    hash.insert(hash.end(), {"field-" + std::to_string(i), "value-" + std::to_string(i)});
  }
  source.pipeline({list, hash, {"SET", "big:string", std::string(200000, 's')}});
  target.pipeline({{"SET", "big:list", "kept"}});

  Client src(parse_uri(source.uri()), t::quick_client());
  Client tgt(parse_uri("redis://writer:pw@127.0.0.1:" + std::to_string(target.port())),
             t::quick_client());
  CopyOptions o;
  o.big_bytes = 16 * 1024;
  o.chunk_elements = 200;
  o.chunk_bytes = 32 * 1024;
  Copier copier(src, tgt, o);
  auto results = copier.copy(t::keys_of(source));
  REQUIRE(results.size() == 3);
  for (auto& r : results) {
    INFO(r.outcome.key << ": " << r.outcome.error << " " << r.outcome.detail);
    CHECK(r.outcome.outcome == Outcome::Result::Failed);
    CHECK(r.outcome.error.starts_with("NOPERM"));
    CHECK(r.outcome.detail == "moving the copied big value into place");
  }
  CHECK(copier.counters().failed == 3);
  CHECK(copier.counters().chunked == 0);
  // Only the value the target had: every temporary key was deleted.
  CHECK(t::keys_of(target) == std::vector<std::string>{"big:list"});
  CHECK(target.cmd({"GET", "big:list"}) == "kept");
}

// The snapshot compare's state records and queue: a file key's state
// survives the fixed-size encoding, digests read back from hex, and the
// queue drains after end() but drops everything after close().
#include "snapshot_batches.h"

#include <catch2/catch_test_macros.hpp>

using namespace migcheck;

TEST_CASE("snapshot batches: state records and hex digests round-trip", "[snapshot]") {
  RdbKeyState s;
  s.type_name = "hash";
  s.type = ValueType::Hash;
  s.expire_ms = 1893456000123;
  s.digest = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  s.size = 4242;
  const std::string p = encode_state(s);
  CHECK(p.size() == kStatePayload);
  RdbKeyState d = decode_state(p);
  CHECK(d.type_name == "hash");
  CHECK(d.type == ValueType::Hash);
  CHECK(d.expire_ms == s.expire_ms);
  CHECK(d.digest == s.digest);
  CHECK(d.size == 4242);

  s.type_name = "MyModType";  // a module's type: ValueType::Other
  s.expire_ms.reset();
  d = decode_state(encode_state(s));
  CHECK(d.type_name == "MyModType");
  CHECK(d.type == ValueType::Other);
  CHECK_FALSE(d.expire_ms);

  CHECK(digest_from_hex(s.digest.hex()) == s.digest);
  CHECK_FALSE(digest_from_hex(""));
  CHECK_FALSE(digest_from_hex(std::string(32, 'g')));
}

TEST_CASE("snapshot batches: the queue drains after close, drops after abort", "[snapshot]") {
  BatchQueue q(4);
  Batch b;
  b.keys = {"a"};
  CHECK(q.push(b));
  CHECK(q.push(b));
  q.close();
  CHECK(q.pop());
  CHECK(q.pop());
  CHECK_FALSE(q.pop());

  BatchQueue c(4);
  CHECK(c.push(b));
  c.abort();
  CHECK_FALSE(c.pop());
  CHECK_FALSE(c.push(b));
}

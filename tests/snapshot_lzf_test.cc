// A big LZF-compressed string in a snapshot file, end to end against real
// servers: `info --digest`, `compare` and `replicate` read it with the
// streaming decompressor (lzf_stream.h), agree with the server holding the
// same value, and stay far below the value's size in peak memory; LZF data
// found bad deep in the stream is one error line naming the offset, exit 2.
// The same for a big LZF element of each plain encoding (linked list,
// quicklist PLAIN node, set, sorted set, hash), read by `info --digest` and
// `compare` in pieces.
#include <catch2/catch_test_macros.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "cli_runner.h"
#include "lzf_tokens.h"
#include "rdb_reader.h"
#include "rdb_writer.h"
#include "server_fixture.h"
#include "snapshot_fixture.h"

using migcheck::test::run_migcheck;
using migcheck::test::Spawned;
using migcheck::test::TestServer;

namespace {

std::string tmp(const std::string& name) {
  return migcheck::test::snapshot_tmp("snaplzf", name);
}

constexpr long kValueBytes = 40 << 20;

struct Ran {
  int code = -1;
  long peak_kb = -1;  // VmHWM
};

Ran run_measured(std::vector<std::string> args, const std::string& name) {
  Spawned p(std::move(args), tmp(name + ".out"), tmp(name + ".err"));
  Ran r{p.wait(), p.max_rss_kb()};
  WARN(name << ": peak RSS " << r.peak_kb << " kB for a " << (kValueBytes >> 20) << " MiB value");
  CHECK(r.peak_kb > 0);
  CHECK(r.peak_kb < 64 * 1024);
  return r;
}

// A file holding `keys` keys in db 0, written by `put`.
template <typename Put>
std::string write_keys(const std::string& name, uint64_t keys, Put put) {
  migcheck::test::RdbWriter w(11);
  w.aux("redis-ver", "7.2.0").select(0).resize(keys, 0);
  put(w);
  const std::string path = tmp(name);
  std::ofstream(path, std::ios::binary) << w.finish();
  return path;
}

// A file holding the one key "big", its value written by `put`.
template <typename Put>
std::string write_file(const std::string& name, Put put) {
  return write_keys(name, 1, [&](migcheck::test::RdbWriter& w) { put(w.key(0, "big")); });
}

// Runs migcheck: exit 2 with one line naming a byte offset.
void check_one_line_error(const std::vector<std::string>& args) {
  auto c = run_migcheck(args);
  INFO(c.err);
  CHECK(c.exit_code == 2);
  CHECK(c.err.find(": offset ") != std::string::npos);
  CHECK(c.err.find('\n') == c.err.size() - 1);
}

// The digest `info --digest` prints for a file.
std::string file_digest(const std::string& path) {
  auto r = run_migcheck({"info", path, "--digest"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto at = r.out.rfind("digest ");
  REQUIRE(at != std::string::npos);
  return r.out.substr(at + 7);
}

}  // namespace

TEST_CASE("snapshot: a big LZF string is streamed, exact and in bounded memory",
          "[snapshot][memory][integration]") {
  std::mt19937_64 rng(2026);
  const auto d = migcheck::test::random_lzf(rng, kValueBytes, 10);
  std::string value;
  REQUIRE(migcheck::lzf_decompress(d.packed, d.raw_len, value));
  const std::string file =
      write_file("big.rdb", [&](migcheck::test::RdbWriter& w) { w.lzf_str(d.packed, d.raw_len); });
  // The same value uncompressed: plain strings were already read in chunks.
  const std::string plain =
      write_file("plain.rdb", [&](migcheck::test::RdbWriter& w) { w.str(value); });

  TestServer source, target, copy, copy_plain;
  source.cmd({"SET", "big", value});
  target.cmd({"SET", "big", value});
  std::string().swap(value);

  // The same digest as the server's own dump of the value.
  const std::string saved = migcheck::test::save_snapshot(source, tmp("saved.rdb"));
  CHECK(file_digest(file) == file_digest(saved));

  // Reading never holds the value: well under half its size.
  Ran r = run_measured({"info", file, "--digest"}, "info");
  CHECK(r.code == 0);
  CHECK(r.peak_kb < kValueBytes / 1024 / 2);
  r = run_measured({"compare", file, target.uri(), "--store", tmp("c1.db"), "-q"}, "compare");
  CHECK(r.code == 0);
  CHECK(r.peak_kb < kValueBytes / 1024 / 2);

  // Copying costs what copying the plain string costs (its chunked writes).
  r = run_measured({"replicate", file, copy.uri(), "--store", tmp("r1.db"), "-q"}, "replicate");
  CHECK(r.code == 0);
  const Ran rp = run_measured({"replicate", plain, copy_plain.uri(), "--store", tmp("r2.db"), "-q"},
                              "replicate-plain");
  CHECK(rp.code == 0);
  CHECK(r.peak_kb < rp.peak_kb + 2048);
  CHECK(copy.debug_digest_value("big") == source.debug_digest_value("big"));

  // One byte more on the target is a difference.
  target.cmd({"APPEND", "big", "x"});
  r = run_measured({"compare", file, target.uri(), "--store", tmp("c2.db"), "-q", "--rounds", "1"},
                   "compare2");
  CHECK(r.code == 1);

  // Data that decompresses past its declared size, found deep in the
  // stream: one line naming the offset, exit 2.
  const std::string bad = write_file(
      "bad.rdb", [&](migcheck::test::RdbWriter& w) { w.lzf_str(d.packed, d.raw_len - 1000); });
  check_one_line_error({"info", bad, "--digest"});
  check_one_line_error({"compare", bad, target.uri(), "--store", tmp("c3.db"), "-q"});
  for (const auto& p : {file, plain, saved, bad}) std::filesystem::remove(p);
}

TEST_CASE("snapshot: big LZF elements of lists, sets, sorted sets and hashes are streamed",
          "[snapshot][memory][integration]") {
  using migcheck::test::listpack;
  using migcheck::test::RdbWriter;
  std::mt19937_64 rng(2027);
  const auto d = migcheck::test::random_lzf(rng, kValueBytes, 10);
  std::string value;
  REQUIRE(migcheck::lzf_decompress(d.packed, d.raw_len, value));
  // One element of each plain encoding is the big LZF string.
  auto write = [&](const std::string& name, size_t declared) {
    return write_keys(name, 5, [&](RdbWriter& w) {
      auto big = [&](RdbWriter& x) -> RdbWriter& { return x.lzf_str(d.packed, declared); };
      big(w.key(1, "list").len(3).str("a")).str("z");  // a linked list
      w.key(18, "ql").len(2).len(2).str(listpack({std::string("x")})).len(1);
      big(w);  // quicklist2: a listpack node, then a PLAIN node
      big(w.key(2, "set").len(2).str("m"));
      big(w.key(5, "zset").len(2).str("m").u64le(0x3ff8000000000000ull))  // 1.5
          .u64le(0x4004000000000000ull);                                  // 2.5
      big(w.key(4, "hash").len(2).str("f").str("v").str("big"));
    });
  };
  const std::string file = write("elements.rdb", d.raw_len);

  // A server holding the same values; lists keep a big element in a PLAIN
  // node (as the file does), so its own snapshot streams them too.
  TestServer server;
  server.cmd({"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000"});
  server.cmd({"RPUSH", "list", "a", value, "z"});
  server.cmd({"RPUSH", "ql", "x", value});
  server.cmd({"SADD", "set", "m", value});
  server.cmd({"ZADD", "zset", "1.5", "m", "2.5", value});
  server.cmd({"HSET", "hash", "f", "v", "big", value});
  std::string().swap(value);

  // The file's digests are those migcheck computes from the server...
  auto c = run_migcheck({"compare", file, server.uri(), "--store", tmp("e1.db"), "-q"});
  INFO(c.err);
  CHECK(c.exit_code == 0);
  // ...and those of the server's own snapshot (its LZF, its encodings).
  const std::string saved = migcheck::test::save_snapshot(server, tmp("esaved.rdb"));
  CHECK(file_digest(file) == file_digest(saved));

  // Neither file is ever held an element at a time: well under half of one,
  // digested, summarised, or skipped by a compare's filter.
  const std::vector<std::vector<std::string>> runs = {
      {"info", file, "--digest"},
      {"info", saved, "--digest"},
      {"info", file},
      {"compare", file, server.uri(), "--type", "string", "--store", tmp("e0.db"), "-q"}};
  for (const auto& args : runs) {
    Ran r = run_measured(args, args[0] + (args.back() == "--digest" ? "-digest" : "") +
                                   (args[1] == saved ? "-saved" : ""));
    CHECK(r.code == 0);
    CHECK(r.peak_kb < kValueBytes / 1024 / 2);
  }

  // A different big value on the server is a difference.
  server.cmd({"HSET", "hash", "big", "small"});
  c = run_migcheck({"compare", file, server.uri(), "--store", tmp("e2.db"), "-q", "--rounds", "1"});
  CHECK(c.exit_code == 1);

  // LZF data found bad deep in an element, and a file cut inside one: one
  // line naming the offset, exit 2.
  const std::string bad = write("ebad.rdb", d.raw_len - 1000);
  check_one_line_error({"info", bad, "--digest"});
  check_one_line_error({"compare", bad, server.uri(), "--store", tmp("e3.db"), "-q"});
  const std::string cut = tmp("ecut.rdb");
  migcheck::test::write_first_half(file, cut);
  check_one_line_error({"info", cut, "--digest"});
  for (const auto& p : {file, saved, bad, cut}) std::filesystem::remove(p);
  for (const char* store : {"e0.db", "e1.db", "e2.db", "e3.db"})
    migcheck::test::remove_store(tmp(store));
}

TEST_CASE("snapshot: a big module value is digested as it is read", "[snapshot][memory]") {
  // A module value of a big raw string and a big LZF one: compared by its
  // serialised bytes, it is hashed as read, never held.
  std::mt19937_64 rng(7);
  const auto d = migcheck::test::random_lzf(rng, 4 << 20, 10);
  const std::string file = write_keys("module.rdb", 1, [&](migcheck::test::RdbWriter& w) {
    w.key(7, "mod").len(0x9a3b9f7c3e1b4c05ull).len(5).str(std::string(kValueBytes, 'm'));
    w.len(5).lzf_str(d.packed, d.raw_len).len(0);
  });
  for (bool digest : {false, true}) {
    std::vector<std::string> args = {"info", file};
    if (digest) args.push_back("--digest");
    Ran r = run_measured(args, digest ? "module-info-digest" : "module-info");
    CHECK(r.code == 0);
    CHECK(r.peak_kb < kValueBytes / 1024 / 2);
  }
  std::filesystem::remove(file);
}

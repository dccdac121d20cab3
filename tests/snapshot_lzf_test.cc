// A big LZF-compressed string in a snapshot file, end to end against real
// servers: `info --digest`, `compare` and `replicate` read it with the
// streaming decompressor (lzf_stream.h), agree with the server holding the
// same value, and stay far below the value's size in peak memory; LZF data
// found bad deep in the stream is one error line naming the offset, exit 2.
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

// A file holding the one key "big", its value written by `put`.
template <typename Put>
std::string write_file(const std::string& name, Put put) {
  migcheck::test::RdbWriter w(11);
  w.aux("redis-ver", "7.2.0").select(0).resize(1, 0).key(0, "big");
  put(w);
  const std::string path = tmp(name);
  std::ofstream(path, std::ios::binary) << w.finish();
  return path;
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
  r = run_measured({"compare", file, target.uri(), "--store", tmp("c2.db"), "-q"}, "compare2");
  CHECK(r.code == 1);

  // Data that decompresses past its declared size, found deep in the
  // stream: one line naming the offset, exit 2.
  const std::string bad = write_file(
      "bad.rdb", [&](migcheck::test::RdbWriter& w) { w.lzf_str(d.packed, d.raw_len - 1000); });
  for (const auto& cmd : {"info", "compare"}) {
    std::vector<std::string> args = {cmd, bad};
    if (args[0] == "compare")
      args.insert(args.end(), {target.uri(), "--store", tmp("c3.db"), "-q"});
    else
      args.push_back("--digest");
    auto c = run_migcheck(args);
    INFO(c.err);
    CHECK(c.exit_code == 2);
    CHECK(c.err.find(": offset ") != std::string::npos);
    CHECK(c.err.find('\n') == c.err.size() - 1);
  }
  for (const auto& p : {file, plain, saved, bad}) std::filesystem::remove(p);
}

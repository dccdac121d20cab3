// Small helpers many test files need alike: client options for a test
// server, numbered keys and big values to load, a wait
// for a condition, a fresh temp store path and its removal, a whole file's bytes, every key of a
// test server, a run record begun or read back, and one integer read from the store of a running
// migcheck. One copy here instead of one per test file.
#pragma once

#include <sqlite3.h>
#include <unistd.h>
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "client.h"
#include "server_fixture.h"
#include "store.h"

namespace migcheck::test {

// MSET commands setting k:<i> to v<i> for every i in [0, n), a thousand keys
// a command.
inline Cmds numbered_keys(int n) {
  Cmds msets;
  for (int base = 0; base < n; base += 1000) {
    std::vector<std::string> mset{"MSET"};
    for (int i = base; i < std::min(n, base + 1000); ++i) {
      mset.push_back("k:" + std::to_string(i));
      mset.push_back("v" + std::to_string(i));
    }
    msets.push_back(std::move(mset));
  }
  return msets;
}

// SET commands giving <prefix><i>, for every i in [0, n), a value of `bytes`
// times the letter 'a' + i % 26: big values, to fill a server's maxmemory.
inline Cmds letter_values(const std::string& prefix, int n, size_t bytes) {
  Cmds sets;
  for (int i = 0; i < n; ++i)
    sets.push_back(
        {"SET", prefix + std::to_string(i), std::string(bytes, static_cast<char>('a' + i % 26))});
  return sets;
}

// Polls `cond` every 10 ms until it holds (true) or `timeout` has passed
// (false).
template <typename Cond>
bool wait_until(Cond&& cond, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Removes the file `path` and, for a store, its -wal and -shm files.
inline void remove_store(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

// <tmp>/migcheck-<prefix>-<name>-<pid>.db, with any leftover of an earlier
// run (the database and its -wal and -shm files) removed.
inline std::string tmp_store(const std::string& prefix, const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("migcheck-" + prefix + "-" + name + "-" + std::to_string(::getpid()) + ".db");
  remove_store(p.string());
  return p.string();
}

// Begins a compare run record (no engine behind it) in `store`; returns its id.
inline int64_t begin_test_run(Store& store) {
  RunRecord r;
  r.command = "compare";
  r.source = "redis://a:1";
  r.target = "redis://b:2";
  r.options_json = "{}";
  return store.begin_run(r);
}

// The record of run `id` in the store at `path`, which must hold it.
inline RunRecord stored_run(const std::string& path, int64_t id) {
  Store store(path, false);
  auto rec = store.run(id);
  REQUIRE(rec);
  return *rec;
}

// The file's bytes; "" when it cannot be read.
inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Client options for a test server on loopback: it answers at once or is
// gone, so connect and retry waits are short.
inline ClientOptions quick_client() {
  ClientOptions o;
  o.conn.connect_timeout = Millis(2000);
  o.conn.command_timeout = Millis(10000);
  o.retry_for = Millis(3000);
  return o;
}

// Every key of db 0 of `s`, in SCAN order.
inline std::vector<std::string> keys_of(TestServer& s) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    auto r = s.reply({"SCAN", cursor, "COUNT", "1000"});
    REQUIRE(r.elements.size() == 2);
    cursor = r.elements[0].str;
    for (auto& k : r.elements[1].elements) keys.push_back(k.str);
  } while (cursor != "0");
  return keys;
}

// One integer from the store of a running migcheck, read-only (-1 while the
// store is not there yet or busy), so polling never takes a write lock.
inline int64_t poll_int(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t v = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 1000);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return v;
}

}  // namespace migcheck::test

// The one exception hierarchy of migcheck. main() catches Error once, prints
// its one-line message and exits 2. Per-key outcomes are data, never these.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace migcheck {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Bad command line, bad URI, bad option value.
struct UsageError : Error {
  using Error::Error;
};

// Cannot reach, lost, timed out, TLS failure. `retryable` says whether a
// reconnect could help (refused/reset/timeout) or not (auth, TLS verify).
struct ConnectionError : Error {
  explicit ConnectionError(const std::string& what, bool can_retry = true)
      : Error(what), retryable(can_retry) {}
  bool retryable;
};

// The peer spoke something that is not RESP, or not what the command returns.
struct ProtocolError : Error {
  using Error::Error;
};

// The SQLite store: not ours, newer schema, I/O failure, full disk.
struct StoreError : Error {
  using Error::Error;
};

// A snapshot (.rdb) file that is truncated, corrupt or uses something we do
// not read: `offset` is the byte where reading stopped.
struct RdbError : Error {
  RdbError(const std::string& what, uint64_t at) : Error(what), offset(at) {}
  uint64_t offset;
};

// SIGINT/SIGTERM observed: the run was checkpointed and stops with exit 2.
struct Interrupted : Error {
  using Error::Error;
};

}  // namespace migcheck

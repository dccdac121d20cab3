// A byte stream to one server: TCP or unix socket, optionally TLS through
// OpenSSL. Non-blocking underneath, with poll() enforcing the timeouts, so a
// dead peer can never hang a run.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "duration.h"
#include "noncopyable.h"
#include "uri.h"

namespace migcheck {

class Transport : NonCopyable {
 public:
  // Connects (and handshakes TLS) within connect_timeout. Throws
  // ConnectionError with a one-line message naming `ep.display()`. A
  // sentinel endpoint connects to the primary its sentinels name now.
  Transport(const Endpoint& ep, Millis connect_timeout);
  ~Transport();

  // Writes all of `data`, waiting at most `timeout` for each bit of progress.
  void write_all(std::string_view data, Millis timeout);
  // Reads what is available (at least one byte), waiting at most `timeout`.
  // Returns the number of bytes placed in buf. Throws on EOF or error.
  size_t read_some(char* buf, size_t len, Millis timeout);

  bool tls() const;
  int fd() const;
  // The last read_some threw because `timeout` passed without a byte.
  bool timed_out() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Verifies that OpenSSL's error queue is drained into a readable string.
std::string openssl_error_string();

}  // namespace migcheck

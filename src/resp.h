// RESP on the wire: commands encoded by append_command (binary-safe, byte
// for byte what hiredis's redisFormatCommandArgv writes), replies parsed
// incrementally by hiredis's redisReader straight into Reply values. Only
// the API shared by hiredis 0.14 and 1.x is used.
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "noncopyable.h"
#include "reply.h"

namespace migcheck {

// A command is its arguments, binary-safe.
using Command = std::vector<std::string>;

inline Command make_command(std::initializer_list<std::string_view> args) {
  Command c;
  c.reserve(args.size());
  for (auto a : args) c.emplace_back(a);
  return c;
}

// Appends the RESP encoding of `args` to `out`.
void append_command(std::string& out, std::span<const std::string> args);

// Incremental reply parser over a hiredis redisReader.
class ReplyParser : NonCopyable {
 public:
  ReplyParser();
  ~ReplyParser();

  void feed(std::string_view bytes);
  // The next complete reply, if the bytes fed so far hold one.
  // Throws ProtocolError when the stream is not valid RESP.
  std::optional<Reply> next();
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace migcheck

// An owned RESP2 reply value. hiredis parses the wire format (see resp.h);
// this is what the rest of migcheck reads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace migcheck {

struct Reply {
  enum class Type { Nil, Status, Error, Integer, String, Array };

  Type type = Type::Nil;
  std::string str;  // Status, Error and String payloads (binary-safe)
  int64_t integer = 0;
  std::vector<Reply> elements;

  bool is_nil() const { return type == Type::Nil; }
  bool is_error() const { return type == Type::Error; }
  bool is_string() const { return type == Type::String || type == Type::Status; }
  bool is_integer() const { return type == Type::Integer; }
  bool is_array() const { return type == Type::Array; }

  // The first word of an error reply: "MOVED", "ASK", "WRONGTYPE", "NOPERM"...
  std::string_view error_code() const;

  // Checked accessors: throw ProtocolError naming `what` on a type mismatch
  // (or on an error reply, whose text is included).
  int64_t as_integer(std::string_view what = "reply") const;
  const std::string& as_string(std::string_view what = "reply") const;
  const std::vector<Reply>& as_array(std::string_view what = "reply") const;

  // For messages and debugging: RESP-ish single-line rendering, truncated.
  std::string summary(size_t max = 200) const;

  static Reply error(std::string text) {
    Reply r;
    r.type = Type::Error;
    r.str = std::move(text);
    return r;
  }
};

// Looks a field up in a flat [name, value, name, value...] array reply
// (XINFO, CLUSTER SHARDS...). Returns nullptr when absent.
const Reply* find_field(const Reply& flat_map, std::string_view name);

// INFO text -> value of one "name:value" line, or empty.
std::string info_field(const std::string& info, std::string_view name);

}  // namespace migcheck

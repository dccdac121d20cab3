// Accessors and rendering of owned RESP replies.
#include "reply.h"

#include <iterator>

#include "errors.h"

namespace migcheck {
namespace {

const char* type_name(Reply::Type t) {
  // In the order of Reply::Type.
  static constexpr const char* kNames[] = {"nil", "status", "error", "integer", "string", "array"};
  const auto i = static_cast<size_t>(t);
  return i < std::size(kNames) ? kNames[i] : "?";
}

[[noreturn]] void mismatch(const Reply& r, std::string_view what, const char* want) {
  if (r.is_error()) throw ProtocolError(std::string(what) + " failed: " + r.str);
  throw ProtocolError("unexpected " + std::string(type_name(r.type)) + " reply for " +
                      std::string(what) + " (expected " + want + ")");
}

}  // namespace

std::string_view Reply::error_code() const {
  if (!is_error()) return {};
  std::string_view s = str;
  return s.substr(0, s.find(' '));
}

int64_t Reply::as_integer(std::string_view what) const {
  if (type != Type::Integer) mismatch(*this, what, "integer");
  return integer;
}

const std::string& Reply::as_string(std::string_view what) const {
  if (type != Type::String && type != Type::Status) mismatch(*this, what, "string");
  return str;
}

const std::vector<Reply>& Reply::as_array(std::string_view what) const {
  if (type != Type::Array) mismatch(*this, what, "array");
  return elements;
}

std::string Reply::summary(size_t max) const {
  std::string out;
  switch (type) {
    case Type::Nil:
      out = "(nil)";
      break;
    case Type::Integer:
      out = "(integer) " + std::to_string(integer);
      break;
    case Type::Error:
      out = "(error) " + str;
      break;
    case Type::Status:
    case Type::String:
      out = "\"" + str + "\"";
      break;
    case Type::Array:
      out = "[";
      for (size_t i = 0; i < elements.size() && out.size() < max; ++i) {
        if (i) out += ", ";
        out += elements[i].summary(max);
      }
      out += "]";
      break;
  }
  if (out.size() > max) out = out.substr(0, max) + "...";
  return out;
}

const Reply* find_field(const Reply& flat_map, std::string_view name) {
  if (!flat_map.is_array()) return nullptr;
  const auto& e = flat_map.elements;
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    if (e[i].is_string() && e[i].str == name) return &e[i + 1];
  }
  return nullptr;
}

std::string info_field(const std::string& info, std::string_view name) {
  size_t pos = 0;
  while (pos < info.size()) {
    size_t end = info.find('\n', pos);
    if (end == std::string::npos) end = info.size();
    std::string_view line(info.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ':')
      return std::string(line.substr(name.size() + 1));
    pos = end + 1;
  }
  return {};
}

}  // namespace migcheck

// RESP on the wire: commands encoded here, straight into the output buffer;
// replies parsed incrementally by hiredis's redisReader, which builds
// migcheck::Reply values directly through its reply-object functions (no
// redisReply tree to allocate, convert and free).
#include "resp.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <new>

#include "errors.h"

namespace migcheck {
namespace {

// Appends "<prefix><n>\r\n".
void append_header(std::string& out, char prefix, size_t n) {
  char buf[24];
  buf[0] = prefix;
  char* end = std::to_chars(buf + 1, buf + sizeof buf - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(buf, static_cast<size_t>(end - buf));
}

// The type of createArray's element count.
template <typename>
struct CountOf;
template <typename R, typename Task, typename Count>
struct CountOf<R (*)(Task, Count)> {
  using type = Count;
};

struct ReaderDeleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};

}  // namespace

void append_command(std::string& out, std::span<const std::string> args) {
  size_t bytes = 16;
  for (const std::string& a : args) bytes += a.size() + 16;
  out.reserve(out.size() + bytes);
  append_header(out, '*', args.size());
  for (const std::string& a : args) {
    append_header(out, '$', a.size());
    out.append(a);
    out.append("\r\n", 2);
  }
}

// The reply being built lives in the parser (`root`); hiredis hands every
// element the Reply it fills: the root for a top-level value, else the
// element of its parent array, whose elements were sized when the array's
// header was read (so the addresses stay put while the array fills).
struct ReplyParser::Impl {
  std::unique_ptr<redisReader, ReaderDeleter> reader;
  Reply root;

  static Reply* slot(const redisReadTask* t, Reply::Type type) {
    Reply* r;
    if (t->parent == nullptr) {
      r = &static_cast<Impl*>(t->privdata)->root;
      *r = Reply{};
    } else {
      r = &static_cast<Reply*>(t->parent->obj)->elements[static_cast<size_t>(t->idx)];
    }
    r->type = type;
    return r;
  }
  // hiredis is C: no exception may leave these; nullptr is its out-of-memory.
  static void* create_string(const redisReadTask* t, char* s, size_t len) noexcept {
    try {
      Reply::Type type = t->type == REDIS_REPLY_ERROR    ? Reply::Type::Error
                         : t->type == REDIS_REPLY_STATUS ? Reply::Type::Status
                                                         : Reply::Type::String;
      Reply* r = slot(t, type);
      r->str.assign(s, len);
      return r;
    } catch (...) {
      return nullptr;
    }
  }
  template <typename Count>
  static void* create_array(const redisReadTask* t, Count n) noexcept {
    try {
      Reply* r = slot(t, Reply::Type::Array);
      r->elements.resize(static_cast<size_t>(n));
      return r;
    } catch (...) {
      return nullptr;
    }
  }
  static void* create_integer(const redisReadTask* t, long long v) noexcept {
    Reply* r = slot(t, Reply::Type::Integer);
    r->integer = v;
    return r;
  }
  static void* create_nil(const redisReadTask* t) noexcept { return slot(t, Reply::Type::Nil); }
  static void free_object(void* obj) noexcept {
    // Only ever called for a top-level value: the root, whose elements go with it.
    *static_cast<Reply*>(obj) = Reply{};
  }
  static redisReplyObjectFunctions* functions() {
    static redisReplyObjectFunctions fn = [] {
      redisReplyObjectFunctions f{};
      f.createString = &create_string;
      // The element count is an int in hiredis 0.14, a size_t in 1.x.
      f.createArray = &create_array<CountOf<decltype(f.createArray)>::type>;
      f.createInteger = &create_integer;
      f.createNil = &create_nil;
      f.freeObject = &free_object;
      return f;
    }();
    return &fn;
  }
};

ReplyParser::ReplyParser() : impl_(std::make_unique<Impl>()) {
  reset();
}
ReplyParser::~ReplyParser() = default;

void ReplyParser::reset() {
  impl_->reader.reset(redisReaderCreateWithFunctions(Impl::functions()));
  if (!impl_->reader) throw ProtocolError("cannot create RESP reader (out of memory)");
  impl_->reader->privdata = impl_.get();
  impl_->root = Reply{};
}

void ReplyParser::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  if (redisReaderFeed(impl_->reader.get(), bytes.data(), bytes.size()) != REDIS_OK)
    throw ProtocolError(std::string("invalid RESP from server: ") + impl_->reader->errstr);
}

std::optional<Reply> ReplyParser::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(impl_->reader.get(), &raw) != REDIS_OK) {
    std::string err = impl_->reader->errstr;
    reset();  // hiredis leaves a reader in error state: it cannot be reused
    throw ProtocolError("invalid RESP from server: " + err);
  }
  if (raw == nullptr) return std::nullopt;
  return std::move(impl_->root);
}

}  // namespace migcheck

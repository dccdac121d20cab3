// hiredis glue: formatter and reader, converting redisReply trees into Reply.
#include "resp.h"

#include <hiredis/hiredis.h>

#include <cstdlib>

#include "errors.h"

namespace migcheck {
namespace {

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::String;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::Status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::Error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::Integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::Array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:  // REDIS_REPLY_NIL, and RESP3 types we never ask for
      out.type = Reply::Type::Nil;
      break;
  }
  return out;
}

struct ReaderDeleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};
struct ReplyDeleter {
  void operator()(void* r) const { freeReplyObject(r); }
};

}  // namespace

void append_command(std::string& out, std::span<const std::string> args) {
  std::vector<const char*> argv(args.size());
  std::vector<size_t> lens(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data();
    lens[i] = args[i].size();
  }
  char* cmd = nullptr;
  auto len = redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), argv.data(), lens.data());
  if (len < 0 || cmd == nullptr) throw ProtocolError("cannot format command (out of memory)");
  out.append(cmd, static_cast<size_t>(len));
  redisFreeCommand(cmd);
}

struct ReplyParser::Impl {
  std::unique_ptr<redisReader, ReaderDeleter> reader;
};

ReplyParser::ReplyParser() : impl_(std::make_unique<Impl>()) {
  reset();
}
ReplyParser::~ReplyParser() = default;

void ReplyParser::reset() {
  impl_->reader.reset(redisReaderCreate());
  if (!impl_->reader) throw ProtocolError("cannot create RESP reader (out of memory)");
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
  std::unique_ptr<void, ReplyDeleter> owned(raw);
  return convert(static_cast<const redisReply*>(raw));
}

}  // namespace migcheck

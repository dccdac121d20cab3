// Snapshot values into the canonical digests of digest.h.
#include "rdb_digest.h"

#include "rdb_reader.h"

namespace migcheck {

RdbDigestVisitor::RdbDigestVisitor(Sink sink, RdbDigestOptions opts)
    : sink_(std::move(sink)), opts_(std::move(opts)) {}

bool RdbDigestVisitor::begin_key(const RdbKey& key) {
  if (opts_.want && !opts_.want(key)) return false;
  state_.db = key.db;
  state_.offset = key.offset;
  state_.key.assign(key.key);
  state_.expire_ms = key.expire_ms;
  state_.digest = {};
  state_.size = 0;
  state_.type_name = rdb_kind_name(key.kind);
  state_.type = key.kind == RdbKind::Module ? ValueType::Other : value_type_from(state_.type_name);
  switch (key.kind) {
    case RdbKind::String:
      str_ = StringDigest();
      break;
    case RdbKind::Stream:
      stream_ = StreamDigest();
      stream_length_ = 0;
      break;
    case RdbKind::Module:
      break;
    default:
      coll_.reset(collection_kind(state_.type));
  }
  return true;
}

void RdbDigestVisitor::hash_field(std::string_view f, std::string_view v, int64_t expire_ms) {
  if (!field_expired(expire_ms, opts_.now_ms)) coll_.add_hash_field(f, v);
}

void RdbDigestVisitor::element_end(double score, int64_t field_expire_ms) {
  const Digest128 d = pieces_.finish(score);
  if (!field_expired(field_expire_ms, opts_.now_ms)) coll_.add_elements(1, d);
}

void RdbDigestVisitor::stream_meta(const RdbStreamMeta& meta) {
  stream_length_ = static_cast<int64_t>(meta.length);
  const bool ext = opts_.stream_extended_meta;
  stream_.set_meta(meta.last_id, ext ? meta.entries_added : std::nullopt,
                   ext && meta.max_deleted_id
                       ? std::optional<std::string_view>(*meta.max_deleted_id)
                       : std::nullopt);
}

void RdbDigestVisitor::stream_group(std::string_view name, std::string_view last_id,
                                    std::optional<int64_t> entries_read) {
  stream_.set_group(name, last_id, opts_.stream_extended_meta ? entries_read : std::nullopt);
}

void RdbDigestVisitor::module_begin(std::string_view type_name) {
  state_.type_name.assign(type_name);
  // The canonical module digest of a DUMP payload, whose footer is not hashed.
  dump_ = DumpDigest(type_name);
}

void RdbDigestVisitor::module_end() {
  state_.digest = dump_.finish();
  state_.size = -1;
}

void RdbDigestVisitor::end_key(uint64_t serialized_bytes) {
  state_.serialized_bytes = serialized_bytes;
  switch (state_.type) {
    case ValueType::String:
      state_.digest = str_.finish();
      state_.size = static_cast<int64_t>(str_.size());
      break;
    case ValueType::Stream:
      state_.digest = stream_.finish();
      state_.size = stream_length_;
      break;
    case ValueType::Other:
      break;
    default:
      state_.digest = coll_.finish();
      state_.size = static_cast<int64_t>(coll_.count());
  }
  sink_(state_);
}

int digest_rdb_file(const std::string& path, const RdbDigestVisitor::Sink& sink,
                    RdbDigestOptions opts) {
  RdbInput in(path);
  RdbDigestVisitor v(sink, std::move(opts));
  RdbParser p(in, v);
  p.run();
  return p.version();
}

}  // namespace migcheck

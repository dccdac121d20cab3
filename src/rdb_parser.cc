// The opcode loop and the value types of a snapshot file; compact encodings
// are walked by rdb_encodings.cc.
#include "rdb_parser.h"

#include <charconv>
#include <cstring>
#include <functional>
#include <iterator>

#include "digest.h"
#include "errors.h"
#include "rdb_encodings.h"

namespace migcheck {
namespace {

// Object types and opcodes of rdb.h.
enum : uint8_t {
  kString = 0,
  kList = 1,
  kSet = 2,
  kZset = 3,
  kHash = 4,
  kZset2 = 5,
  kModulePreGa = 6,
  kModule2 = 7,
  kHashZipmap = 9,
  kListZiplist = 10,
  kSetIntset = 11,
  kZsetZiplist = 12,
  kHashZiplist = 13,
  kListQuicklist = 14,
  kStreamListpacks = 15,
  kHashListpack = 16,
  kZsetListpack = 17,
  kListQuicklist2 = 18,
  kStreamListpacks2 = 19,
  kSetListpack = 20,
  kStreamListpacks3 = 21,
  kHashMetadataPreGa = 22,
  kHashListpackExPreGa = 23,
  kHashMetadata = 24,
  kHashListpackEx = 25,
  kOpSlotInfo = 244,
  kOpFunction2 = 245,
  kOpFunctionPreGa = 246,
  kOpModuleAux = 247,
  kOpIdle = 248,
  kOpFreq = 249,
  kOpAux = 250,
  kOpResizeDb = 251,
  kOpExpireMs = 252,
  kOpExpireSec = 253,
  kOpSelectDb = 254,
  kOpEof = 255,
};

// The kind of each object type byte, indexed by the byte (kString ..
// kHashListpackEx; 8 was never used).
std::optional<RdbKind> kind_of(uint8_t t) {
  using enum RdbKind;
  static constexpr std::optional<RdbKind> kKinds[] = {
      String, List, Set,    Zset, Hash, Zset, Module, Module, std::nullopt, Hash, List, Set,  Zset,
      Hash,   List, Stream, Hash, Zset, List, Stream, Set,    Stream,       Hash, Hash, Hash, Hash};
  static_assert(std::size(kKinds) == kHashListpackEx + 1);
  return t < std::size(kKinds) ? kKinds[t] : std::nullopt;
}

// The strings of a value are read whole up to this size, in pieces above it.
constexpr size_t kPiece = 1 << 20;

// The visitor of values parsed but not reported: a big element is skipped
// in pieces, never held whole.
struct SkipVisitor : RdbVisitor {
  bool takes_element_pieces() const override { return true; }
};

RdbVisitor& null_visitor() {
  static SkipVisitor v;
  return v;
}

}  // namespace

const char* rdb_kind_name(RdbKind k) {
  // In the order of RdbKind.
  static constexpr const char* kNames[] = {"string", "list",   "set",   "zset",
                                           "hash",   "stream", "module"};
  const auto i = static_cast<size_t>(k);
  return i < std::size(kNames) ? kNames[i] : "?";
}

std::string module_type_name(uint64_t id) {
  static constexpr char kChars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string name(9, ' ');
  for (int i = 0; i < 9; ++i) name[i] = kChars[(id >> (64 - 6 * (i + 1))) & 63];
  return name;
}

void RdbParser::read_blob(std::string_view what, BlobFormat format, const ElementSink& sink) {
  in_.string(blob_, what);
  const uint64_t end = in_.offset();
  blob_at_ = end >= blob_.size() ? end - blob_.size() : 0;
  decode_blob(format, blob_, BlobContext{in_.name(), blob_at_}, sink);
}

bool RdbParser::read_element(RdbVisitor& v, std::string_view what, std::string_view what2) {
  if (!v.takes_element_pieces()) {
    in_.string(s1_, what);
    if (!what2.empty()) in_.string(s2_, what2);
    return true;
  }
  // The element as the callbacks below see it: they capture one reference
  // each, which std::function holds without allocating (this runs per element).
  struct Element {
    RdbVisitor& v;
    std::string* outs[2];
    size_t i = 0;         // the string being read
    bool pieces = false;  // the element goes in pieces
    void whole_piece(std::string_view s) const {
      v.element_string(s.size());
      v.element_bytes(s);
    }
  } e{v, {&s1_, &s2_}};
  const std::function<void(uint64_t)> begin = [&e](uint64_t size) {
    if (!e.pieces) {  // the strings before this one were read whole
      e.v.element_begin();
      for (size_t j = 0; j < e.i; ++j) e.whole_piece(*e.outs[j]);
      e.pieces = true;
    }
    e.v.element_string(size);
  };
  const RdbInput::Sink sink = [&v](std::string_view b) { v.element_bytes(b); };
  const std::string_view whats[] = {what, what2};
  for (; e.i < (what2.empty() ? 1u : 2u); ++e.i)
    if (in_.string_or_chunks(*e.outs[e.i], kPiece, begin, sink, whats[e.i]) && e.pieces)
      e.whole_piece(*e.outs[e.i]);
  return !e.pieces;
}

void RdbParser::run() {
  char magic[9];
  in_.read(magic, 9, "the RDB header \"REDISnnnn\"");
  if (std::memcmp(magic, "REDIS", 5) != 0) in_.fail_at(0, "the RDB header \"REDISnnnn\"");
  int ver = 0;
  for (int i = 5; i < 9; ++i) {
    if (magic[i] < '0' || magic[i] > '9') in_.fail_at(5, "a 4-digit RDB version");
    ver = ver * 10 + (magic[i] - '0');
  }
  if (ver < 1 || ver > 12)
    in_.fail_at(5, "an RDB version from 1 to 12, got " + std::to_string(ver));
  version_ = ver;
  v_.on_version(ver);
  int db = 0;
  std::optional<int64_t> expire;
  std::string key;
  for (;;) {
    const uint64_t at = in_.offset();
    const uint8_t op = in_.u8("an opcode or a value type");
    switch (op) {
      case kOpExpireSec:
        expire = static_cast<int64_t>(in_.u32le("an expiry in seconds")) * 1000;
        continue;
      case kOpExpireMs:
        expire = static_cast<int64_t>(in_.u64le("an expiry in milliseconds"));
        continue;
      case kOpIdle:
        in_.length("an LRU idle time");
        continue;
      case kOpFreq:
        in_.u8("an LFU frequency");
        continue;
      case kOpSelectDb: {
        uint64_t n = in_.length("a db number");
        if (n > INT32_MAX) in_.fail_at(at + 1, "a db number");
        db = static_cast<int>(n);
        continue;
      }
      case kOpResizeDb: {
        uint64_t keys = in_.length("the db size");
        uint64_t expires = in_.length("the expires size");
        v_.on_resize_db(db, keys, expires);
        continue;
      }
      case kOpSlotInfo:
        in_.length("a slot number");
        in_.length("a slot size");
        in_.length("a slot's expires size");
        continue;
      case kOpAux:
        in_.string(s1_, "an aux field name");
        in_.string(s2_, "an aux field value");
        v_.on_aux(s1_, s2_);
        continue;
      case kOpModuleAux: {
        const uint64_t id = in_.length("a module id");
        if (in_.length("a module aux 'when' opcode") != 2)
          in_.fail("a module aux 'when' as an unsigned integer");
        in_.length("a module aux 'when'");
        skip_module_body("module aux data");
        v_.on_module_aux(module_type_name(id));
        continue;
      }
      case kOpFunction2:
        in_.string(s1_, "a function library");
        v_.on_function(s1_);
        continue;
      case kOpFunctionPreGa:
        in_.fail_at(at, "no pre-GA function opcode (Redis 7.0 release candidates)");
      case kOpEof: {
        if (ver >= 5) {
          const uint64_t computed = in_.crc();
          const uint64_t stored = in_.u64le("the CRC64 checksum");
          if (stored != 0 && stored != computed) {
            char buf[80];
            std::snprintf(buf, sizeof buf, "checksum %016llx (the file has %016llx)",
                          static_cast<unsigned long long>(computed),
                          static_cast<unsigned long long>(stored));
            in_.fail_at(in_.offset() - 8, buf);
          }
          v_.on_end(stored != 0);
        } else {
          v_.on_end(false);
        }
        return;
      }
      default:
        break;
    }
    auto kind = kind_of(op);
    if (!kind) in_.fail_at(at, "an opcode or a value type (got " + std::to_string(op) + ")");
    in_.string(key, "a key name");
    RdbKey k;
    k.db = db;
    k.key = key;
    k.rdb_type = op;
    k.kind = *kind;
    k.expire_ms = expire;
    k.offset = at;
    expire.reset();
    const bool report = v_.begin_key(k);
    const uint64_t value_at = in_.offset();
    read_value(k, report);
    if (report) v_.end_key(in_.offset() - value_at + 1);
  }
}

void RdbParser::run_object(RdbKey key) {
  key.offset = in_.offset();
  key.rdb_type = in_.u8("an object type");
  auto kind = kind_of(key.rdb_type);
  if (!kind) in_.fail_at(key.offset, "an object type (got " + std::to_string(key.rdb_type) + ")");
  key.kind = *kind;
  if (!v_.begin_key(key)) return;
  const uint64_t value_at = in_.offset();
  read_value(key, true);
  v_.end_key(in_.offset() - value_at + 1);
}

void RdbParser::read_value(const RdbKey& key, bool report) {
  RdbVisitor& v = report ? v_ : null_visitor();
  switch (key.kind) {
    case RdbKind::String:
      in_.string_chunks([&v](std::string_view c) { v.string_chunk(c); }, kPiece, "a string value");
      return;
    case RdbKind::List:
      return read_list(key.rdb_type, report);
    case RdbKind::Set:
      return read_set(key.rdb_type, report);
    case RdbKind::Zset:
      return read_zset(key.rdb_type, report);
    case RdbKind::Hash:
      return read_hash(key.rdb_type, report);
    case RdbKind::Stream:
      return read_stream(key.rdb_type, report);
    case RdbKind::Module:
      return read_module(key.rdb_type, report);
  }
}

template <typename Sink>
void RdbParser::read_string_element(RdbVisitor& v, std::string_view what, Sink&& sink) {
  if (read_element(v, what))
    sink(s1_);
  else
    v.element_end(0, 0);
}

template <typename Sink>
void RdbParser::read_strings(RdbVisitor& v, std::string_view count_what, std::string_view what,
                             Sink&& sink) {
  for (uint64_t n = in_.length(count_what); n > 0; --n) read_string_element(v, what, sink);
}

void RdbParser::read_list(uint8_t type, bool report) {
  RdbVisitor& v = report ? v_ : null_visitor();
  auto sink = [&v](std::string_view e) { v.list_element(e); };
  if (type == kList) return read_strings(v, "a list length", "a list element", sink);
  if (type == kListZiplist) return read_blob("a list ziplist", BlobFormat::Ziplist, sink);
  for (uint64_t n = in_.length("a quicklist node count"); n > 0; --n) {
    uint64_t container = 2;
    if (type == kListQuicklist2) {
      const uint64_t at = in_.offset();
      container = in_.length("a quicklist node container");
      if (container != 1 && container != 2) in_.fail_at(at, "a quicklist container 1 or 2");
    }
    if (container == 1) {  // a PLAIN node: one element, as a string
      read_string_element(v, "a quicklist node", sink);
      continue;
    }
    read_blob("a quicklist node",
              type == kListQuicklist ? BlobFormat::Ziplist : BlobFormat::Listpack, sink);
  }
}

void RdbParser::read_set(uint8_t type, bool report) {
  RdbVisitor& v = report ? v_ : null_visitor();
  auto sink = [&v](std::string_view e) { v.set_member(e); };
  if (type == kSet) return read_strings(v, "a set size", "a set member", sink);
  if (type == kSetIntset) return read_blob("an intset", BlobFormat::Intset, sink);
  read_blob("a set listpack", BlobFormat::Listpack, sink);
}

void RdbParser::read_zset(uint8_t type, bool report) {
  RdbVisitor& v = report ? v_ : null_visitor();
  if (type == kZset || type == kZset2) {
    for (uint64_t n = in_.length("a sorted set size"); n > 0; --n) {
      const bool whole = read_element(v, "a sorted set member");
      double score = type == kZset ? in_.text_double("a score") : in_.binary_double("a score");
      if (whole)
        v.zset_member(s1_, score);
      else
        v.element_end(score, 0);
    }
    return;
  }
  bool have_member = false;
  auto sink = [&](std::string_view e) {
    if (!have_member) {
      s1_.assign(e);
      have_member = true;
      return;
    }
    auto score = parse_score(e);
    if (!score) in_.fail_at(blob_at_, "numeric scores in the sorted set");
    v.zset_member(s1_, *score);
    have_member = false;
  };
  read_blob("a sorted set ziplist or listpack",
            type == kZsetZiplist ? BlobFormat::Ziplist : BlobFormat::Listpack, sink);
  if (have_member) in_.fail_at(blob_at_, "member/score pairs in the sorted set");
}

void RdbParser::read_hash(uint8_t type, bool report) {
  RdbVisitor& v = report ? v_ : null_visitor();
  if (type == kHash || type == kHashMetadata || type == kHashMetadataPreGa) {
    const int64_t min_expire =
        type == kHashMetadata ? static_cast<int64_t>(in_.u64le("the hash's next field expiry")) : 0;
    for (uint64_t n = in_.length("a hash size"); n > 0; --n) {
      int64_t exp = 0;
      if (type != kHash) {
        const uint64_t ttl = in_.length("a hash field TTL");
        exp = type == kHashMetadata ? (ttl ? static_cast<int64_t>(ttl) + min_expire - 1 : 0)
                                    : static_cast<int64_t>(ttl);
      }
      if (read_element(v, "a hash field", "a hash value"))
        v.hash_field(s1_, s2_, exp);
      else
        v.element_end(0, exp);
    }
    return;
  }
  if (type == kHashListpackEx) in_.u64le("the hash's next field expiry");
  const int per = type == kHashListpackEx || type == kHashListpackExPreGa ? 3 : 2;
  int at = 0;
  auto sink = [&](std::string_view e) {
    if (at == 0) {
      s1_.assign(e);
    } else if (at == 1) {
      s2_.assign(e);
      if (per == 2) v.hash_field(s1_, s2_, 0);
    } else {
      int64_t exp = 0;
      auto r = std::from_chars(e.data(), e.data() + e.size(), exp);
      if (r.ec != std::errc() || r.ptr != e.data() + e.size())
        in_.fail_at(blob_at_, "integer field TTLs in the hash listpack");
      v.hash_field(s1_, s2_, exp);
    }
    at = (at + 1) % per;
  };
  const BlobFormat format = type == kHashZipmap    ? BlobFormat::Zipmap
                            : type == kHashZiplist ? BlobFormat::Ziplist
                                                   : BlobFormat::Listpack;
  read_blob("a hash ziplist, zipmap or listpack", format, sink);
  if (at != 0) in_.fail_at(blob_at_, "complete field/value entries in the hash");
}

void RdbParser::read_module(uint8_t type, bool report) {
  if (type == kModulePreGa)
    in_.fail("a decodable module value (type 6, written by Redis 4.0 release candidates, is not)");
  // A module value is compared by its serialised bytes as the file holds
  // them (strings inside stay LZF-compressed; skip_module_body only checks
  // them, in pieces): never decompressed, and held whole only by a visitor
  // that takes no pieces.
  const bool pieces = report && v_.takes_module_pieces();
  std::string serialized(1, static_cast<char>(type));
  if (report) in_.begin_capture(&serialized);
  const uint64_t id = in_.length("a module id");
  if (pieces) {  // the type byte and the id first, then the body as it is read
    in_.end_capture();
    v_.module_begin(module_type_name(id));
    v_.module_bytes(serialized);
    in_.begin_capture([this](std::string_view b) { v_.module_bytes(b); });
  }
  skip_module_body("module value data");
  if (!report) return;
  in_.end_capture();
  if (pieces)
    v_.module_end();
  else
    v_.module_value(module_type_name(id), serialized);
}

void RdbParser::skip_module_body(std::string_view what) {
  for (;;) {
    const uint64_t at = in_.offset();
    switch (in_.length(what)) {
      case 0:  // EOF
        return;
      case 1:  // signed int
      case 2:  // unsigned int
        in_.length(what);
        break;
      case 3:  // float
        in_.skip(4, what);
        break;
      case 4:  // double
        in_.skip(8, what);
        break;
      case 5:  // string: checked (an LZF one decompressed in pieces), not kept
        in_.string_chunks([](std::string_view) {}, kPiece, what);
        break;
      default:
        in_.fail_at(at, std::string(what) + " (a module opcode 0-5)");
    }
  }
}

}  // namespace migcheck

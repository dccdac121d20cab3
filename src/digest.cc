// Canonical forms and their XXH3-128 digests. Every multi-byte number that is
// hashed is written little-endian with a fixed width, and every byte string
// is length-prefixed, so digests are the same on every machine and two
// different sequences of pieces never serialise to the same bytes.
#include "digest.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "noncopyable.h"

namespace migcheck {
namespace {

Digest128 from_xxh(XXH128_hash_t h) {
  return Digest128{h.low64, h.high64};
}

void put_digest(std::string& out, const Digest128& d) {
  put_u64(out, d.lo);
  put_u64(out, d.hi);
}

void put_optional(std::string& out, const std::optional<int64_t>& v) {
  out.push_back(v ? 1 : 0);
  put_u64(out, v ? static_cast<uint64_t>(*v) : 0);
}

// Per-thread scratch for building one element's canonical bytes: no
// allocation per element once it has grown to the largest element seen.
std::string& scratch() {
  thread_local std::string buf;
  buf.clear();
  return buf;
}

Digest128 hash_buf(const std::string& buf, uint64_t seed = 0) {
  return from_xxh(XXH3_128bits_withSeed(buf.data(), buf.size(), seed));
}

Digest128 finish_string(uint64_t size, Digest128 body) {
  std::string& b = scratch();
  b.push_back(static_cast<char>(ValueKind::String));
  put_u64(b, size);
  put_digest(b, body);
  return hash_buf(b);
}

}  // namespace

void put_u64(std::string& out, uint64_t v) {
  if constexpr (std::endian::native != std::endian::little) v = __builtin_bswap64(v);
  char b[8];
  std::memcpy(b, &v, 8);
  out.append(b, 8);
}

void put_bytes(std::string& out, std::string_view s) {
  put_u64(out, s.size());
  out.append(s);
}

std::string Digest128::hex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = kHex[(hi >> (4 * i)) & 0xf];
    out[31 - i] = kHex[(lo >> (4 * i)) & 0xf];
  }
  return out;
}

Digest128 hash_bytes(std::string_view bytes, uint64_t seed) {
  return from_xxh(XXH3_128bits_withSeed(bytes.data(), bytes.size(), seed));
}

uint64_t element_id(std::string_view member) {
  return XXH3_64bits(member.data(), member.size());
}

bool IdSet::insert(uint64_t v) {
  if (v == 0) {  // 0 marks empty slots
    if (has_zero_) return false;
    has_zero_ = true;
    ++size_;
    return true;
  }
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const size_t mask = slots_.size() - 1;
  for (size_t i = v & mask;; i = (i + 1) & mask) {
    if (slots_[i] == v) return false;
    if (slots_[i] == 0) {
      slots_[i] = v;
      ++size_;
      return true;
    }
  }
}

void IdSet::clear() {
  if (size_ == 0) return;
  if (slots_.size() > (1u << 16))
    slots_ = {};
  else
    std::fill(slots_.begin(), slots_.end(), 0);
  size_ = 0;
  has_zero_ = false;
}

void IdSet::grow() {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(std::max<size_t>(1024, old.size() * 2), 0);
  const size_t mask = slots_.size() - 1;
  for (uint64_t v : old) {
    if (v == 0) continue;
    size_t i = v & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = v;
  }
}

std::optional<double> parse_score(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  double d = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (p != text.data() + text.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves d untouched here; the server never prints such a
    // score, but strtod semantics (+-HUGE_VAL / 0) are the sensible reading.
    std::string copy(text);
    d = std::strtod(copy.c_str(), nullptr);
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return d;
}

uint64_t canonical_score_bits(double score) {
  if (score == 0.0) score = 0.0;  // -0.0 == 0.0: both become +0.0
  if (std::isnan(score)) return 0x7ff8000000000000ull;
  return std::bit_cast<uint64_t>(score);
}

Digest128 digest_string(std::string_view bytes) {
  return finish_string(bytes.size(), from_xxh(XXH3_128bits(bytes.data(), bytes.size())));
}

struct Xxh3Stream::State : NonCopyable {
  XXH3_state_t* st = nullptr;
  State() : st(XXH3_createState()) {
    if (!st) throw std::bad_alloc();
    XXH3_128bits_reset(st);
  }
  ~State() { XXH3_freeState(st); }
};

Xxh3Stream::Xxh3Stream() : state_(std::make_unique<State>()) {}
Xxh3Stream::~Xxh3Stream() = default;
Xxh3Stream::Xxh3Stream(Xxh3Stream&&) noexcept = default;
Xxh3Stream& Xxh3Stream::operator=(Xxh3Stream&&) noexcept = default;

void Xxh3Stream::reset(uint64_t seed) {
  XXH3_128bits_reset_withSeed(state_->st, seed);
}

void Xxh3Stream::update(std::string_view bytes) {
  XXH3_128bits_update(state_->st, bytes.data(), bytes.size());
}

Digest128 Xxh3Stream::digest() const {
  return from_xxh(XXH3_128bits_digest(state_->st));
}

void StringDigest::update(std::string_view bytes) {
  hash_.update(bytes);
  size_ += bytes.size();
}

Digest128 StringDigest::finish() const {
  return finish_string(size_, hash_.digest());
}

void CollectionDigest::add_list_element(std::string_view value) {
  // Seeding with the position makes the sum ordered: swapping two elements
  // changes both of their hashes.
  sum_ += hash_bytes(value, count_);
  ++count_;
}

void ElementPieces::begin(ValueKind kind, uint64_t position) {
  kind_ = kind;
  // As add_list_element (seeded with the position) and the others (seed 0).
  hash_.reset(kind == ValueKind::List ? position : 0);
}

void ElementPieces::begin_string(uint64_t size) {
  // put_bytes' length prefix of hash_field_element and add_zset_member; a
  // list element or set member is hashed as its bare bytes.
  if (kind_ == ValueKind::List || kind_ == ValueKind::Set) return;
  std::string& b = scratch();
  put_u64(b, size);
  hash_.update(b);
}

void ElementPieces::update(std::string_view bytes) {
  hash_.update(bytes);
}

Digest128 ElementPieces::finish(double score) {
  if (kind_ == ValueKind::Zset) {
    std::string& b = scratch();
    put_u64(b, canonical_score_bits(score));
    hash_.update(b);
  }
  return hash_.digest();
}

Digest128 hash_field_element(std::string_view field, std::string_view value) {
  std::string& b = scratch();
  put_bytes(b, field);
  put_bytes(b, value);
  return hash_buf(b);
}

Digest128 set_member_element(std::string_view member) {
  return hash_bytes(member);
}

void CollectionDigest::add_hash_field(std::string_view field, std::string_view value) {
  sum_ += hash_field_element(field, value);
  ++count_;
}

void CollectionDigest::add_set_member(std::string_view member) {
  sum_ += set_member_element(member);
  ++count_;
}

void CollectionDigest::add_zset_member(std::string_view member, double score) {
  std::string& b = scratch();
  put_bytes(b, member);
  put_u64(b, canonical_score_bits(score));
  sum_ += hash_buf(b);
  ++count_;
}

bool CollectionDigest::add_zset_member(std::string_view member, std::string_view score) {
  auto d = parse_score(score);
  if (!d) return false;
  add_zset_member(member, *d);
  return true;
}

Digest128 CollectionDigest::finish() const {
  std::string& b = scratch();
  b.push_back(static_cast<char>(kind_));
  put_u64(b, count_);
  put_digest(b, sum_);
  return hash_buf(b);
}

void StreamDigest::begin_entry(std::string_view id) {
  entry_buf_.clear();
  put_bytes(entry_buf_, id);
  in_entry_ = true;
}

void StreamDigest::add_entry_field(std::string_view field, std::string_view value) {
  put_bytes(entry_buf_, field);
  put_bytes(entry_buf_, value);
}

void StreamDigest::end_entry() {
  if (!in_entry_) return;
  entries_sum_ += hash_buf(entry_buf_, entries_);
  ++entries_;
  in_entry_ = false;
}

void StreamDigest::set_meta(std::string_view last_id, std::optional<int64_t> entries_added,
                            std::optional<std::string_view> max_deleted_id) {
  last_id_.assign(last_id);
  entries_added_ = entries_added;
  if (max_deleted_id)
    max_deleted_id_.emplace(*max_deleted_id);
  else
    max_deleted_id_.reset();
}

StreamDigest::Group& StreamDigest::group(std::string_view name) {
  auto it = groups_.find(name);
  if (it == groups_.end()) it = groups_.emplace(std::string(name), Group{}).first;
  return it->second;
}

void StreamDigest::set_group(std::string_view name, std::string_view last_delivered_id,
                             std::optional<int64_t> entries_read) {
  Group& g = group(name);
  g.last_delivered.assign(last_delivered_id);
  g.entries_read = entries_read;
}

void StreamDigest::add_pending(std::string_view group_name, std::string_view id,
                               std::string_view consumer, int64_t delivery_count) {
  Group& g = group(group_name);
  std::string& b = scratch();
  put_bytes(b, id);
  put_bytes(b, consumer);
  put_u64(b, static_cast<uint64_t>(delivery_count));
  g.pel += hash_buf(b, g.pel_count);
  ++g.pel_count;
}

void StreamDigest::add_consumer(std::string_view group_name, std::string_view consumer) {
  Group& g = group(group_name);
  g.consumers += hash_bytes(consumer);
  ++g.consumer_count;
}

uint64_t StreamDigest::pending(std::string_view group_name) const {
  auto it = groups_.find(group_name);
  return it == groups_.end() ? 0 : it->second.pel_count;
}

Digest128 StreamDigest::finish() const {
  std::string b;
  b.push_back(static_cast<char>(ValueKind::Stream));
  put_u64(b, entries_);
  put_digest(b, entries_sum_);
  put_bytes(b, last_id_);
  put_optional(b, entries_added_);
  b.push_back(max_deleted_id_ ? 1 : 0);
  put_bytes(b, max_deleted_id_ ? *max_deleted_id_ : std::string_view());
  put_u64(b, groups_.size());
  for (const auto& [name, g] : groups_) {  // std::map: name order
    put_bytes(b, name);
    put_bytes(b, g.last_delivered);
    put_optional(b, g.entries_read);
    put_u64(b, g.pel_count);
    put_digest(b, g.pel);
    put_u64(b, g.consumer_count);
    put_digest(b, g.consumers);
  }
  return hash_buf(b);
}

namespace {

Digest128 finish_dump(std::string_view type_name, uint64_t size, const Digest128& body) {
  std::string& b = scratch();
  b.push_back(static_cast<char>(ValueKind::Dump));
  put_bytes(b, type_name);
  put_u64(b, size);
  put_digest(b, body);
  return hash_buf(b);
}

}  // namespace

Digest128 digest_dump(std::string_view type_name, std::string_view payload) {
  std::string_view body = payload.size() >= 10 ? payload.substr(0, payload.size() - 10) : payload;
  return finish_dump(type_name, body.size(), hash_bytes(body));
}

void DumpDigest::update(std::string_view body) {
  hash_.update(body);
  size_ += body.size();
}

Digest128 DumpDigest::finish() const {
  return finish_dump(type_name_, size_, hash_.digest());
}

}  // namespace migcheck

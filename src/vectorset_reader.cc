// VectorSetRead: the vector-set steps of the KeyReader and the translation of
// VINFO / VRANDMEMBER / VEMB RAW / VGETATTR replies into VectorSetDigest.
#include "vectorset_reader.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace migcheck {
namespace {

// A positive VRANDMEMBER count at least the set's size returns the whole set
// (every element once); this is far beyond any set a server can hold.
constexpr std::string_view kAll = "2147483647";

std::optional<int64_t> as_int(const Reply& r) {
  if (r.is_integer()) return r.integer;
  if (!r.is_string()) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
  if (ec != std::errc() || p != r.str.data() + r.str.size()) return std::nullopt;
  return v;
}

// VINFO answers a flat name/value array (RESP2) or a map folded into one.
const Reply* field(const Reply& info, std::string_view name) {
  for (size_t k = 0; k + 1 < info.elements.size(); k += 2)
    if (info.elements[k].is_string() && info.elements[k].str == name) return &info.elements[k + 1];
  return nullptr;
}

}  // namespace

VectorSetRead::VectorSetRead(size_t chunk) : chunk_(std::max<size_t>(chunk / 2, 1)) {}

void VectorSetRead::commands(std::string_view key, const Emit& emit) {
  if (!have_names_) {
    emit({"VINFO", key});
    emit({"VRANDMEMBER", key, kAll});
    return;
  }
  step_n_ = std::min(chunk_, names_.size() - pos_);
  for (size_t k = pos_; k < pos_ + step_n_; ++k) {
    emit({"VEMB", key, names_[k], "RAW"});
    emit({"VGETATTR", key, names_[k]});
  }
  emit({"VCARD", key});
}

VectorSetRead::Outcome VectorSetRead::feed(std::span<const Reply> r) {
  ++steps_;
  auto error = [](std::string_view cmd, const Reply& e) {
    return Outcome{Status::Error, {}, cmd, &e};
  };
  auto unstable = [](std::string why) {
    return Outcome{Status::Unstable, std::move(why), {}, nullptr};
  };
  if (!have_names_) {
    if (r.size() < 2) return unstable("short reply");
    if (r[0].is_error()) return error("VINFO", r[0]);
    if (r[1].is_error()) return error("VRANDMEMBER", r[1]);
    if (!r[0].is_array() || r[0].elements.empty()) return unstable("vanished while read");
    const Reply* quant = field(r[0], "quant-type");
    const Reply* dim = field(r[0], "vector-dim");
    const Reply* proj = field(r[0], "projection-input-dim");
    const Reply* size = field(r[0], "size");
    if (!quant || !dim || !size || !as_int(*dim) || !as_int(*size))
      return unstable("VINFO reply without quant-type, vector-dim or size");
    size_ = *as_int(*size);
    digest_.set_header(quant->str, *as_int(*dim), proj ? as_int(*proj).value_or(0) : 0);
    if (!r[1].is_array()) return unstable("vanished while read");
    names_.clear();
    names_.reserve(r[1].elements.size());
    for (const Reply& n : r[1].elements) names_.push_back(n.str);
    if (static_cast<int64_t>(names_.size()) != size_)
      return unstable("changed while read (VCARD " + std::to_string(size_) + ", " +
                      std::to_string(names_.size()) + " elements listed)");
    have_names_ = true;
    if (names_.empty()) return unstable("vanished while read");
    return {};
  }
  if (r.size() != 2 * step_n_ + 1) return unstable("short reply");
  for (size_t k = 0; k < step_n_; ++k) {
    const Reply& emb = r[2 * k];
    const Reply& attr = r[2 * k + 1];
    if (emb.is_error()) return error("VEMB", emb);
    if (attr.is_error()) return error("VGETATTR", attr);
    if (!emb.is_array() || emb.elements.empty())
      return unstable("element removed while read in chunks");
    std::string_view parts[8];
    const size_t n = std::min<size_t>(emb.elements.size(), std::size(parts));
    for (size_t p = 0; p < n; ++p) parts[p] = emb.elements[p].str;
    std::optional<std::string_view> attributes;
    if (attr.is_string()) attributes = attr.str;
    digest_.add_element(names_[pos_ + k], std::span(parts, n), attributes);
  }
  pos_ += step_n_;
  const Reply& card = r.back();
  if (card.is_error()) return error("VCARD", card);
  if (!card.is_integer() || card.integer != size_)
    return unstable("changed while read in chunks (VCARD " + std::to_string(size_) + " -> " +
                    std::to_string(card.is_integer() ? card.integer : 0) + ")");
  if (pos_ < names_.size()) return {};
  names_.clear();
  names_.shrink_to_fit();
  return {Status::Done, {}, {}, nullptr};
}

}  // namespace migcheck

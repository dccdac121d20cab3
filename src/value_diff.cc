// Locating the first difference inside a value: the comparisons per type, the
// bounded re-reads that feed them, and the stored (JSON) form.
#include "value_diff.h"

#include <algorithm>
#include <functional>
#include <iterator>

#include <nlohmann/json.hpp>

#include "printable.h"

namespace migcheck {
namespace {

std::string shown(std::string_view raw, size_t n) {
  std::string out = printable_bytes(raw.substr(0, n));
  if (raw.size() > n) out += "...";
  return out;
}

ValueLocation at(std::string_view part, std::string where, const std::string* a,
                 const std::string* b, size_t n) {
  ValueLocation l;
  l.located = true;
  l.part = part;
  l.at = std::move(where);
  if (a) {
    l.source = shown(*a, n);
    l.source_bytes = static_cast<int64_t>(a->size());
  }
  if (b) {
    l.target = shown(*b, n);
    l.target_bytes = static_cast<int64_t>(b->size());
  }
  return l;
}

bool by_first(const std::pair<std::string, std::string>& x,
              const std::pair<std::string, std::string>& y) {
  return x.first < y.first;
}

// The first key (in byte order) whose value differs or is on one side only,
// of two sorted pair lists; `same` compares two values of one key.
template <class Same>
std::optional<ValueLocation> first_pair_difference(const FieldValues& a, const FieldValues& b,
                                                   std::string_view part, size_t n, Same same) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].first < b[j].first))
      return at(part, shown(a[i].first, n), &a[i].second, nullptr, n);
    if (i == a.size() || b[j].first < a[i].first)
      return at(part, shown(b[j].first, n), nullptr, &b[j].second, n);
    if (!same(a[i].second, b[j].second))
      return at(part == "member" ? "score" : part, shown(a[i].first, n), &a[i].second, &b[j].second,
                n);
    ++i;
    ++j;
  }
  return std::nullopt;
}

// The same commands on both sides, in flight together: one round trip.
std::pair<std::vector<Reply>, std::vector<Reply>> on_both(Client& src, Client& tgt,
                                                          std::span<const Command> cmds,
                                                          RateLimiter* limiter) {
  if (limiter) limiter->acquire(cmds.size());
  src.submit(cmds);
  try {
    tgt.submit(cmds);
  } catch (...) {
    src.collect();  // never leave a batch in flight
    throw;
  }
  std::vector<Reply> a;
  try {
    a = src.collect();
  } catch (...) {
    tgt.collect();
    throw;
  }
  return {std::move(a), tgt.collect()};
}

// XRANGE entries as (id, "f1=v1 f2=v2") pairs.
FieldValues stream_entries(const Reply& r) {
  FieldValues out;
  for (const Reply& e : r.elements) {
    if (!e.is_array() || e.elements.size() != 2) continue;
    std::string body;
    const auto& fv = e.elements[1].elements;
    for (size_t k = 0; k + 1 < fv.size(); k += 2) add_entry_field(body, fv[k].str, fv[k + 1].str);
    out.emplace_back(e.elements[0].str, std::move(body));
  }
  return out;
}

// A flat [name, value...] reply's field as text ("" when absent).
std::string field_text(const Reply& r, std::string_view name) {
  const Reply* f = find_field(r, name);
  if (!f || f->is_nil()) return "";
  return f->is_integer() ? std::to_string(f->integer) : f->str;
}

constexpr const char* kStreamMeta[] = {"last-generated-id", "entries-added",
                                       "max-deleted-entry-id"};

// XRANGE, XINFO STREAM and XINFO GROUPS replies as a stream's parts.
StreamParts stream_parts(std::span<const Reply> r) {
  StreamParts p;
  p.entries = stream_entries(r[0]);
  for (const char* f : kStreamMeta) p.meta[f] = field_text(r[1], f);
  for (const Reply& g : r[2].elements)
    p.groups.emplace_back(
        field_text(g, "name"),
        stream_group_text(field_text(g, "last-delivered-id"), field_text(g, "entries-read"),
                          field_text(g, "pending"), field_text(g, "consumers")));
  std::sort(p.groups.begin(), p.groups.end(), by_first);
  return p;
}

std::optional<ValueLocation> locate_in_streams(const StreamParts& a, const StreamParts& b,
                                               size_t n) {
  const FieldValues &ea = a.entries, &eb = b.entries;
  for (size_t i = 0; i < std::max(ea.size(), eb.size()); ++i) {
    if (i < ea.size() && i < eb.size() && ea[i] == eb[i]) continue;
    // Entries before i are equal and ids ascend: the lower id at i is on its side only.
    if (i == eb.size() || (i < ea.size() && ea[i].first < eb[i].first))
      return at("entry", shown(ea[i].first, n), &ea[i].second, nullptr, n);
    if (i == ea.size() || eb[i].first < ea[i].first)
      return at("entry", shown(eb[i].first, n), nullptr, &eb[i].second, n);
    return at("entry", shown(ea[i].first, n), &ea[i].second, &eb[i].second, n);
  }
  for (const char* f : kStreamMeta) {
    const auto x = a.meta.find(f), y = b.meta.find(f);
    if (x == a.meta.end() || y == b.meta.end()) continue;
    // Unknown on one side: a server before 7.0, which the compare ignores too.
    if (!x->second.empty() && !y->second.empty() && x->second != y->second)
      return at(f, "", &x->second, &y->second, n);
  }
  return first_pair_difference(a.groups, b.groups, "group", n, std::equal_to<>());
}

FieldValues pairs_of(const Reply& r) {
  FieldValues out;
  for (size_t k = 0; k + 1 < r.elements.size(); k += 2)
    out.emplace_back(r.elements[k].str, r.elements[k + 1].str);
  return out;
}

std::vector<std::string> strings_of(const Reply& r) {
  std::vector<std::string> out;
  out.reserve(r.elements.size());
  for (const Reply& e : r.elements) out.push_back(e.str);
  return out;
}

}  // namespace

std::optional<ValueLocation> locate_in_strings(std::string_view a, std::string_view b, size_t n) {
  if (a == b) return std::nullopt;
  const auto diff = std::mismatch(a.begin(), a.begin() + std::min(a.size(), b.size()), b.begin());
  const auto i = static_cast<size_t>(diff.first - a.begin());
  const std::string wa(a.substr(i)), wb(b.substr(i));
  ValueLocation l = at("offset", std::to_string(i), &wa, &wb, n);
  l.source_bytes = static_cast<int64_t>(a.size());
  l.target_bytes = static_cast<int64_t>(b.size());
  return l;
}

std::optional<ValueLocation> locate_in_lists(std::span<const std::string> a,
                                             std::span<const std::string> b, size_t n) {
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string* x = i < a.size() ? &a[i] : nullptr;
    const std::string* y = i < b.size() ? &b[i] : nullptr;
    if (x && y && *x == *y) continue;
    return at("index", std::to_string(i), x, y, n);
  }
  return std::nullopt;
}

std::optional<ValueLocation> locate_in_hashes(FieldValues a, FieldValues b, size_t n) {
  std::sort(a.begin(), a.end(), by_first);
  std::sort(b.begin(), b.end(), by_first);
  return first_pair_difference(a, b, "field", n, std::equal_to<>());
}

std::optional<ValueLocation> locate_in_sets(std::vector<std::string> a, std::vector<std::string> b,
                                            size_t n) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<std::string> only;
  std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only));
  if (only.empty()) return std::nullopt;
  const bool on_source = std::binary_search(a.begin(), a.end(), only.front());
  const std::string present = "(member)";
  return at("member", shown(only.front(), n), on_source ? &present : nullptr,
            on_source ? nullptr : &present, n);
}

std::optional<ValueLocation> locate_in_zsets(FieldValues a, FieldValues b, size_t n) {
  std::sort(a.begin(), a.end(), by_first);
  std::sort(b.begin(), b.end(), by_first);
  // Scores compare as the digest sees them: as doubles, not as text.
  return first_pair_difference(a, b, "member", n, [](const std::string& x, const std::string& y) {
    auto dx = parse_score(x), dy = parse_score(y);
    if (!dx || !dy) return x == y;
    return canonical_score_bits(*dx) == canonical_score_bits(*dy);
  });
}

void add_entry_field(std::string& entry, std::string_view field, std::string_view value) {
  if (!entry.empty()) entry.push_back(' ');
  entry.append(field).append("=").append(value);
}

std::string stream_group_text(std::string_view last_delivered_id, std::string_view entries_read,
                              std::string_view pending, std::string_view consumers) {
  std::string d = "last-delivered-id " + std::string(last_delivered_id);
  if (!entries_read.empty()) d.append(", entries-read ").append(entries_read);
  return d.append(", pending ").append(pending).append(", consumers ").append(consumers);
}

ValueLocation not_located(std::string reason) {
  ValueLocation l;
  l.reason = std::move(reason);
  return l;
}

std::optional<ValueLocation> locate_refusal(const KeyState& s, const KeyState& t,
                                            const LocateOptions& o) {
  if (s.type != t.type) return not_located("the types differ");
  const bool string = s.type == ValueType::String;
  const int64_t bound = o.bound(s.type);
  if (s.type == ValueType::Other) return not_located("module type: compared by DUMP only");
  if (s.size > bound || t.size > bound)
    return not_located("key larger than the bound (" + std::to_string(s.size) + " on source, " +
                       std::to_string(t.size) + " on target; bound " + std::to_string(bound) +
                       (string ? " bytes)" : " elements)"));
  return std::nullopt;
}

ValueLocation locate_in_values(ValueType type, ValueParts a, ValueParts b, size_t n) {
  std::optional<ValueLocation> found;
  switch (type) {
    case ValueType::String:
      found = locate_in_strings(a.str, b.str, n);
      break;
    case ValueType::List:
      found = locate_in_lists(a.items, b.items, n);
      break;
    case ValueType::Hash:
      found = locate_in_hashes(std::move(a.pairs), std::move(b.pairs), n);
      break;
    case ValueType::Set:
      found = locate_in_sets(std::move(a.items), std::move(b.items), n);
      break;
    case ValueType::Stream:
      found = locate_in_streams(a.stream, b.stream, n);
      break;
    default:
      found = locate_in_zsets(std::move(a.pairs), std::move(b.pairs), n);
      break;
  }
  if (found) return *found;
  return not_located(
      "the values read again are equal (changed since, or a consumer's pending "
      "entries differ)");
}

namespace {

// The commands that read a key of `type` again.
std::vector<Command> reread_commands(ValueType type, const std::string& k) {
  switch (type) {
    case ValueType::String:
      return {{"GET", k}};
    case ValueType::List:
      return {{"LRANGE", k, "0", "-1"}};
    case ValueType::Hash:
      return {{"HGETALL", k}};
    case ValueType::Set:
      return {{"SMEMBERS", k}};
    case ValueType::Stream:
      return {{"XRANGE", k, "-", "+"}, {"XINFO", "STREAM", k}, {"XINFO", "GROUPS", k}};
    default:
      return {{"ZRANGE", k, "0", "-1", "WITHSCORES"}};
  }
}

// One side's replies to reread_commands as its parts; an error reply ends
// as not located (returned).
std::optional<ValueLocation> parts_of(ValueType type, std::span<const Reply> r, ValueParts& out) {
  for (const Reply& e : r)
    if (e.is_error())
      return not_located(std::string(type == ValueType::Stream ? "cannot read the stream again: "
                                                               : "cannot read the key again: ") +
                         printable_bytes(e.str));
  switch (type) {
    case ValueType::String:
      out.str = r[0].str;
      break;
    case ValueType::List:
    case ValueType::Set:
      out.items = strings_of(r[0]);
      break;
    case ValueType::Stream:
      out.stream = stream_parts(r);
      break;
    default:
      out.pairs = pairs_of(r[0]);
      break;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ValueLocation> read_value_parts(Client& c, std::string_view key, ValueType type,
                                              RateLimiter* limiter, ValueParts& out) {
  const std::vector<Command> cmds = reread_commands(type, std::string(key));
  if (limiter) limiter->acquire(cmds.size());
  c.submit(cmds);
  return parts_of(type, c.collect(), out);
}

ValueLocation locate_value_difference(Client& source, Client& target, std::string_view key,
                                      const KeyState& s, const KeyState& t,
                                      const LocateOptions& o) {
  if (auto refused = locate_refusal(s, t, o)) return *refused;
  const std::vector<Command> cmds = reread_commands(s.type, std::string(key));
  auto [a, b] = on_both(source, target, cmds, o.limiter);
  ValueParts pa, pb;
  if (auto failed = parts_of(s.type, a, pa)) return *failed;
  if (auto failed = parts_of(s.type, b, pb)) return *failed;
  return locate_in_values(s.type, std::move(pa), std::move(pb), o.shown_bytes);
}

void fill_value_rows(const KeyState& s, const KeyState& t, const LocateOptions& opts,
                     std::span<Difference> rows, const std::function<ValueLocation()>& locate) {
  if (opts.bound(s.type) <= 0) return;  // turned off for this type
  if (s.status != ReadStatus::Ok || t.status != ReadStatus::Ok || s.digest == t.digest) return;
  std::optional<std::string> location;  // read once, whatever the rows
  for (Difference& d : rows)
    if (d.kind == kKindValue && !d.source_digest.empty() && !d.target_digest.empty()) {
      if (!location) location = locate().to_json();
      d.location = *location;
    }
}

void locate_value_rows(Client& source, Client& target, std::string_view key, const KeyState& s,
                       const KeyState& t, const LocateOptions& opts, std::span<Difference> rows) {
  fill_value_rows(s, t, opts, rows,
                  [&] { return locate_value_difference(source, target, key, s, t, opts); });
}

std::string ValueLocation::to_json() const {
  nlohmann::json j;
  j["located"] = located;
  if (located) {
    j["part"] = part;
    j["at"] = at;
    j["source"] = source ? nlohmann::json(*source) : nlohmann::json(nullptr);
    j["target"] = target ? nlohmann::json(*target) : nlohmann::json(nullptr);
    j["source_bytes"] = source_bytes;
    j["target_bytes"] = target_bytes;
  } else {
    j["reason"] = reason;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<ValueLocation> ValueLocation::from_json(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("located")) return std::nullopt;
  ValueLocation l;
  l.located = j.value("located", false);
  l.part = j.value("part", "");
  l.at = j.value("at", "");
  if (j.contains("source") && j["source"].is_string()) l.source = j["source"].get<std::string>();
  if (j.contains("target") && j["target"].is_string()) l.target = j["target"].get<std::string>();
  l.source_bytes = j.value("source_bytes", int64_t{-1});
  l.target_bytes = j.value("target_bytes", int64_t{-1});
  l.reason = j.value("reason", "");
  return l;
}

std::string ValueLocation::summary() const {
  if (!located) return "not located: " + reason;
  auto side = [](const std::optional<std::string>& v) {
    return v ? "\"" + *v + "\"" : std::string("absent");
  };
  std::string out = part;
  if (!at.empty()) out += " \"" + at + "\"";
  return out + ": source " + side(source) + ", target " + side(target);
}

}  // namespace migcheck

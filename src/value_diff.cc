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

ValueLocation not_located(std::string reason) {
  ValueLocation l;
  l.reason = std::move(reason);
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
    for (size_t k = 0; k + 1 < fv.size(); k += 2) {
      if (k) body.push_back(' ');
      body.append(fv[k].str).append("=").append(fv[k + 1].str);
    }
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

// XINFO GROUPS -> (name, "last-delivered-id X, entries-read N, pending P, consumers C").
FieldValues stream_groups(const Reply& r) {
  FieldValues out;
  for (const Reply& g : r.elements) {
    std::string d = "last-delivered-id " + field_text(g, "last-delivered-id");
    if (std::string er = field_text(g, "entries-read"); !er.empty()) d += ", entries-read " + er;
    d += ", pending " + field_text(g, "pending") + ", consumers " + field_text(g, "consumers");
    out.emplace_back(field_text(g, "name"), std::move(d));
  }
  std::sort(out.begin(), out.end(), by_first);
  return out;
}

std::optional<ValueLocation> locate_in_streams(Client& src, Client& tgt, const std::string& key,
                                               const LocateOptions& o) {
  const size_t n = o.shown_bytes;
  const Command range{"XRANGE", key, "-", "+"};
  const Command info{"XINFO", "STREAM", key};
  const Command groups{"XINFO", "GROUPS", key};
  const Command cmds[] = {range, info, groups};
  auto [a, b] = on_both(src, tgt, cmds, o.limiter);
  for (size_t k = 0; k < 3; ++k)
    if (a[k].is_error() || b[k].is_error())
      return not_located("cannot read the stream again: " +
                         printable_bytes((a[k].is_error() ? a[k] : b[k]).str));
  const FieldValues ea = stream_entries(a[0]), eb = stream_entries(b[0]);
  for (size_t i = 0; i < std::max(ea.size(), eb.size()); ++i) {
    if (i < ea.size() && i < eb.size() && ea[i] == eb[i]) continue;
    // Entries before i are equal and ids ascend: the lower id at i is on its side only.
    if (i == eb.size() || (i < ea.size() && ea[i].first < eb[i].first))
      return at("entry", shown(ea[i].first, n), &ea[i].second, nullptr, n);
    if (i == ea.size() || eb[i].first < ea[i].first)
      return at("entry", shown(eb[i].first, n), nullptr, &eb[i].second, n);
    return at("entry", shown(ea[i].first, n), &ea[i].second, &eb[i].second, n);
  }
  for (const char* f : {"last-generated-id", "entries-added", "max-deleted-entry-id"}) {
    const std::string x = field_text(a[1], f), y = field_text(b[1], f);
    // Absent on one side: a server before 7.0, which the compare ignores too.
    if (!x.empty() && !y.empty() && x != y) return at(f, "", &x, &y, n);
  }
  return first_pair_difference(stream_groups(a[2]), stream_groups(b[2]), "group", n,
                               std::equal_to<>());
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

ValueLocation locate_value_difference(Client& source, Client& target, std::string_view key,
                                      const KeyState& s, const KeyState& t,
                                      const LocateOptions& o) {
  if (s.type != t.type) return not_located("the types differ");
  const bool string = s.type == ValueType::String;
  const int64_t bound = string ? o.max_bytes : o.max_elements;
  if (s.type == ValueType::Other) return not_located("module type: compared by DUMP only");
  if (s.size > bound || t.size > bound)
    return not_located("key larger than the bound (" + std::to_string(s.size) + " on source, " +
                       std::to_string(t.size) + " on target; bound " + std::to_string(bound) +
                       (string ? " bytes)" : " elements)"));
  const std::string k(key);
  std::optional<ValueLocation> found;
  if (s.type == ValueType::Stream) {
    found = locate_in_streams(source, target, k, o);
  } else {
    Command cmd;
    switch (s.type) {
      case ValueType::String:
        cmd = {"GET", k};
        break;
      case ValueType::List:
        cmd = {"LRANGE", k, "0", "-1"};
        break;
      case ValueType::Hash:
        cmd = {"HGETALL", k};
        break;
      case ValueType::Set:
        cmd = {"SMEMBERS", k};
        break;
      default:
        cmd = {"ZRANGE", k, "0", "-1", "WITHSCORES"};
        break;
    }
    auto both = on_both(source, target, std::span<const Command>(&cmd, 1), o.limiter);
    const Reply a = std::move(both.first.at(0));
    const Reply b = std::move(both.second.at(0));
    if (a.is_error() || b.is_error())
      return not_located("cannot read the key again: " +
                         printable_bytes((a.is_error() ? a : b).str));
    const size_t n = o.shown_bytes;
    switch (s.type) {
      case ValueType::String:
        found = locate_in_strings(a.str, b.str, n);
        break;
      case ValueType::List:
        found = locate_in_lists(strings_of(a), strings_of(b), n);
        break;
      case ValueType::Hash:
        found = locate_in_hashes(pairs_of(a), pairs_of(b), n);
        break;
      case ValueType::Set:
        found = locate_in_sets(strings_of(a), strings_of(b), n);
        break;
      default:
        found = locate_in_zsets(pairs_of(a), pairs_of(b), n);
        break;
    }
  }
  if (found) return *found;
  return not_located(
      "the values read again are equal (changed since, or a consumer's pending "
      "entries differ)");
}

void locate_value_rows(Client& source, Client& target, std::string_view key, const KeyState& s,
                       const KeyState& t, const LocateOptions& opts, std::span<Difference> rows) {
  const int64_t bound = s.type == ValueType::String ? opts.max_bytes : opts.max_elements;
  if (bound <= 0) return;  // turned off for this type
  if (s.status != ReadStatus::Ok || t.status != ReadStatus::Ok || s.digest == t.digest) return;
  for (Difference& d : rows)
    if (d.kind == kKindValue && !d.source_digest.empty() && !d.target_digest.empty())
      d.location = locate_value_difference(source, target, key, s, t, opts).to_json();
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

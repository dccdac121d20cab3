// Partition ranges, parsing and their recorded JSON: see partition.h.
#include "partition.h"

#include <charconv>

#include "errors.h"
#include "slot.h"

namespace migcheck {

int Partition::first_slot() const {
  if (!active()) return 0;
  return static_cast<int>(static_cast<int64_t>(index - 1) * kSlots / count);
}

int Partition::end_slot() const {
  if (!active()) return kSlots;
  return static_cast<int>(static_cast<int64_t>(index) * kSlots / count);
}

bool Partition::contains_slot(int slot) const {
  return !active() || (slot >= first_slot() && slot < end_slot());
}

bool Partition::contains_key(std::string_view key) const {
  return !active() || contains_slot(key_slot(key));
}

std::string Partition::text() const {
  return std::to_string(index) + "/" + std::to_string(count);
}

std::string Partition::slots_text() const {
  return std::to_string(first_slot()) + "-" + std::to_string(end_slot() - 1);
}

namespace {

bool parse_int(std::string_view s, int& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Partition parse_partition(std::string_view text) {
  const auto slash = text.find('/');
  Partition p;
  if (slash == std::string_view::npos || !parse_int(text.substr(0, slash), p.index) ||
      !parse_int(text.substr(slash + 1), p.count))
    throw UsageError("--partition: expected K/N (e.g. 2/3), got '" + std::string(text) + "'");
  if (p.count < 1 || p.count > kSlots)
    throw UsageError("--partition " + std::string(text) + ": N must be between 1 and " +
                     std::to_string(kSlots));
  if (p.index < 1 || p.index > p.count)
    throw UsageError("--partition " + std::string(text) + ": K must be between 1 and N");
  return p;
}

nlohmann::json partition_json(const Partition& p) {
  nlohmann::json j = {{"index", p.index},
                      {"count", p.count},
                      {"first_slot", p.first_slot()},
                      {"last_slot", p.end_slot() - 1}};
  if (!p.job.empty()) j["job"] = p.job;
  return j;
}

std::optional<Partition> partition_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  auto idx = j.find("index"), cnt = j.find("count");
  if (idx == j.end() || cnt == j.end() || !idx->is_number_integer() || !cnt->is_number_integer())
    return std::nullopt;
  Partition p;
  p.index = idx->get<int>();
  p.count = cnt->get<int>();
  if (p.count < 1 || p.count > kSlots || p.index < 1 || p.index > p.count) return std::nullopt;
  if (auto it = j.find("job"); it != j.end() && it->is_string()) p.job = it->get<std::string>();
  return p;
}

}  // namespace migcheck

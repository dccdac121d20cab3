// The partitions check: see partition_check.h.
#include "partition_check.h"

#include <string>
#include <vector>

#include "partition.h"
#include "printable.h"

namespace migcheck {
namespace {

using enum CheckStatus;

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// The indexes of merged.<field>, as "K/N".
std::vector<std::string> listed(const nlohmann::json& merged, const char* field, int n) {
  std::vector<std::string> out;
  auto it = merged.find(field);
  if (it == merged.end() || !it->is_array()) return out;
  for (const auto& k : *it)
    if (k.is_number_integer())
      out.push_back(std::to_string(k.get<int>()) + "/" + std::to_string(n));
  return out;
}

// "a.db run 3, b.db run 1": the inputs that hold partition k.
std::string stores_of(const nlohmann::json& merged, int k) {
  std::string out;
  auto it = merged.find("partitions");
  if (it == merged.end() || !it->is_array()) return out;
  for (const auto& p : *it)
    if (p.is_object() && p.value("index", 0) == k)
      out += (out.empty() ? "" : ", ") + printable_bytes(p.value("store", std::string("?"))) +
             " run " + std::to_string(p.value("run", int64_t{0})) + " (" +
             printable_bytes(p.value("status", std::string("?"))) + ", exit " +
             std::to_string(p.value("exit_code", -1)) + ")";
  return out;
}

}  // namespace

std::optional<Check> partitions_check(const ReportModel& m) {
  constexpr std::string_view id = "partitions", name = "Partitions";
  if (!m.options.is_object()) return std::nullopt;
  if (auto it = m.options.find("partition"); it != m.options.end()) {
    const auto p = partition_from_json(*it);
    const std::string which = p ? p->text() + " (hash slots " + p->slots_text() + ")" : "?";
    return make_check(id, name, kFail,
                      "this run covers partition " + which +
                          " only; join the stores of every partition with `migcheck merge` and "
                          "report on the merged store",
                      true);
  }
  auto it = m.options.find("merged");
  if (it == m.options.end() || !it->is_object()) return std::nullopt;
  const nlohmann::json& merged = *it;
  const int n = merged.value("count", 0);
  std::vector<std::string> problems;
  for (const auto& k : listed(merged, "missing", n))
    problems.push_back("partition " + k + " missing");
  for (const auto& field : {"duplicated", "failed"})
    if (auto f = merged.find(field); f != merged.end() && f->is_array())
      for (const auto& k : *f)
        if (k.is_number_integer())
          problems.push_back("partition " + std::to_string(k.get<int>()) + "/" + std::to_string(n) +
                             (std::string_view(field) == "duplicated" ? " given more than once: "
                                                                      : " did not finish: ") +
                             stores_of(merged, k.get<int>()));
  if (!problems.empty())
    return make_check(id, name, kFail,
                      join(problems) +
                          ": the merged run does not cover every slot exactly once; run or rerun "
                          "those partitions and merge again");
  return make_check(id, name, kPass,
                    std::to_string(n) + " of " + std::to_string(n) +
                        " partitions, each once and finished: all 16384 hash slots");
}

}  // namespace migcheck

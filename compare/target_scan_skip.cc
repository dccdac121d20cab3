// The target scan settled by counts (target_scan_skip.h).
#include "target_scan_skip.h"

#include <charconv>

#include "reply.h"

namespace migcheck {

namespace {

std::optional<int64_t> int_field(const std::string& info, std::string_view name) {
  const std::string v = info_field(info, name);
  int64_t n = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return n;
}

bool unchanged(const KeyspaceMark& a, const KeyspaceMark& b) {
  return !a.saving && !b.saving && a.dirty == b.dirty && a.last_save == b.last_save &&
         a.dbsize == b.dbsize;
}

}  // namespace

std::optional<KeyspaceMark> keyspace_mark(Client& client) {
  if (client.cluster()) return std::nullopt;
  const Reply info = client.on_node(0, {"INFO", "persistence"});
  const Reply size = client.on_node(0, {"DBSIZE"});
  if (!info.is_string() || !size.is_integer()) return std::nullopt;
  const auto dirty = int_field(info.str, "rdb_changes_since_last_save");
  const auto last_save = int_field(info.str, "rdb_last_save_time");
  const auto saving = int_field(info.str, "rdb_bgsave_in_progress");
  if (!dirty || !last_save || !saving) return std::nullopt;
  return KeyspaceMark{size.integer, *dirty, *last_save, *saving != 0};
}

std::string target_scan_needed(const KeyspaceMark& src_before, const KeyspaceMark& src_after,
                               const KeyspaceMark& tgt_before, const KeyspaceMark& tgt_after,
                               const SourcePassCounts& counts) {
  if (!unchanged(src_before, src_after)) return "the source changed during the source pass";
  if (!unchanged(tgt_before, tgt_after)) return "the target changed during the source pass";
  if (counts.source_keys != src_after.dbsize)
    return "the source pass read " + std::to_string(counts.source_keys) + " keys of " +
           std::to_string(src_after.dbsize);
  if (counts.found_on_target != tgt_after.dbsize)
    return std::to_string(counts.found_on_target) +
           " source keys found on the target, which holds " + std::to_string(tgt_after.dbsize);
  return {};
}

}  // namespace migcheck

#include "copy_summary.h"

#include <cstdio>

#include "duration.h"
#include "printable.h"
#include "progress.h"

namespace migcheck {

void print_copy_counts(const CopyCounters& c, bool dry_run, bool deletions) {
  if (dry_run) {
    std::printf("  would be written  %s\n", grouped(c.planned).c_str());
  } else {
    std::printf("  copied            %s (RESTORE %s, by type %s, big in chunks %s), %s\n",
                grouped(c.copied).c_str(), grouped(c.restored).c_str(),
                grouped(c.fallbacks).c_str(), grouped(c.chunked).c_str(),
                format_bytes(c.bytes).c_str());
    if (deletions)
      std::printf("  deleted           %s (gone from the source)\n", grouped(c.deleted).c_str());
  }
  std::printf("  skipped           %s\n", grouped(c.skipped).c_str());
  std::printf("  failed            %s\n", grouped(c.failed).c_str());
}

void print_skipped_keys(const std::vector<Outcome>& skipped, int64_t total) {
  if (skipped.empty()) return;
  std::printf("\nSkipped keys%s:\n",
              total > static_cast<int64_t>(skipped.size()) ? " (first ones)" : "");
  for (const auto& s : skipped)
    std::printf("  %s: %s\n", printable_bytes(s.key).c_str(), terminal_text(s.detail).c_str());
}

void print_incomplete_result(const std::string& store_path, int64_t run_id) {
  std::printf(
      "Result: INCOMPLETE (keys not copied are in the store: migcheck report --store %s --run "
      "%lld).\n",
      store_path.c_str(), static_cast<long long>(run_id));
}

}  // namespace migcheck

// The "Failed keys" block of the repair and replicate summaries.
#include "failed_keys.h"

#include <cstdio>

#include "printable.h"

namespace migcheck {

void print_failed_keys(const std::vector<Outcome>& failures, int64_t total) {
  if (failures.empty()) return;
  std::printf("\nFailed keys%s:\n",
              total > static_cast<int64_t>(failures.size()) ? " (first ones)" : "");
  for (const auto& f : failures)
    std::printf("  %s: %s%s%s\n", printable_bytes(f.key).c_str(), terminal_text(f.error).c_str(),
                f.error.empty() || f.detail.empty() ? "" : " - ", terminal_text(f.detail).c_str());
}

}  // namespace migcheck

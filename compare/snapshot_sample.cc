// The snapshot compare's samples (snapshot_sample.h).
#include "snapshot_sample.h"

#include <algorithm>

#include "log.h"

namespace migcheck {

void FileKeySample::offer(const RdbKeyState& k) {
  auto it = dbs_.find(k.db);
  if (it == dbs_.end()) it = dbs_.try_emplace(k.db, per_db_, rng_()).first;
  it->second.offer(k);
}

bool FileKeySample::holds_all() const {
  return std::all_of(dbs_.begin(), dbs_.end(), [](const auto& d) { return d.second.holds_all(); });
}

bool FileKeySample::yield_keys(const std::function<void(const RdbKeyState&)>& add) const {
  const bool all = holds_all();
  for (const auto& [db, r] : dbs_) {
    for (const RdbKeyState& k : r.items()) add(k);
    if (!all && r.seen() < per_db_)
      log::info("sampled " + std::to_string(r.seen()) + " distinct keys of db " +
                std::to_string(db) + " (fewer than --sample " + std::to_string(per_db_) +
                ": the file's db or the matching part is small)");
  }
  if (!all) return true;
  log::info("--sample " + std::to_string(per_db_) +
            " covers every key of the file (in scope): checking every key");
  return false;
}

TargetKeys::TargetKeys(Client& client, const ScanOptions& so, uint64_t sample) {
  if (sample == 0) {
    scan_ = std::make_unique<Scanner>(client, so);
    return;
  }
  SampleOptions sa;
  sa.keys = sample;
  sa.match = so.match;
  sample_ = std::make_unique<Sampler>(client, sa);
}

TargetKeys::~TargetKeys() = default;

bool TargetKeys::next(std::vector<std::string>& out) {
  return scan_ ? scan_->next(out) : sample_->next(out);
}

}  // namespace migcheck

// Whether a store is still the file the run started writing, and whether a
// write to it has failed. A store damaged mid-run (truncated, deleted,
// replaced, a write refused) cannot hold the run's results, so the run's
// verdict must say so (exit 2), and a `--resume` of it cannot work: the
// first damage is remembered here, per store and for the whole process
// (resume advice is worded without a Store at hand).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace migcheck {

class StoreHealth {
 public:
  explicit StoreHealth(std::string path);

  // Remembers the file's identity and size; called once it is open.
  void baseline();
  // Looks at the file again: deleted, replaced by another file, or shorter
  // than it was (SQLite never shrinks a store) is damage. Returns the damage.
  std::optional<std::string> check();
  // Records `why` (a failed write, a corrupt page) as damage.
  void damaged(const std::string& why);
  std::optional<std::string> damage() const;

 private:
  std::string path_;
  mutable std::mutex mu_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  int64_t size_ = -1;  // largest size seen; -1 before baseline()
  std::optional<std::string> damage_;
};

// The first damage any store of this process has seen, if any.
std::optional<std::string> store_damage();

}  // namespace migcheck

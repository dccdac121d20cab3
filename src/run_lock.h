// Exclusive claims on runs, so that two processes never write the same run
// (a `--resume` while the run is still going, or two resumes at once). One
// lock file beside the store ("<store>-lock") holds a byte-range lock per run
// id; the kernel drops a claim when its process dies, so a run killed with
// SIGKILL is resumable at once, and nothing is left to clean up by hand.
#pragma once

#include <cstdint>
#include <string>

#include "fd.h"

namespace migcheck {

class RunLocks {
 public:
  explicit RunLocks(std::string store_path);
  RunLocks(const RunLocks&) = delete;
  RunLocks& operator=(const RunLocks&) = delete;

  // Claims run `id` for this object until release() or destruction; a run
  // it already holds is claimed again at no cost. Throws UsageError when
  // another holder (another process, or another RunLocks) has it.
  void claim(int64_t id);
  void release(int64_t id);

 private:
  int fd();
  std::string path_;
  Fd fd_;  // opened at the first claim: read-only commands never create the file
};

}  // namespace migcheck

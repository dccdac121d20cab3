// Exclusive claims on runs, so that two processes never write the same run
// (a `--resume` while the run is still going, or two resumes at once). The
// claims are byte-range locks on the store's SQLite file itself, one byte per
// run id far above the bytes SQLite locks: the file's identity (device and
// inode) decides, not the name it was opened by, so a symlink or hard link
// to the store cannot run the same run twice. The kernel drops a claim when
// its process dies, so a run killed with SIGKILL is resumable at once, and
// nothing is left to clean up by hand.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "fd.h"
#include "noncopyable.h"

namespace migcheck {

class RunLocks : NonCopyable {
 public:
  explicit RunLocks(std::string store_path);

  // Claims run `id` for this object until release() or destruction; a run
  // it already holds is claimed again at no cost. Throws UsageError when
  // another holder (another process, or another RunLocks) has it.
  void claim(int64_t id);
  void release(int64_t id);
  // True only when nobody else holds run `id` (its process is gone, or it
  // ended); false while another holder has it, or when locks cannot be
  // probed. Never takes the claim; a run this object holds is not free.
  bool is_free(int64_t id);

 private:
  int fd();
  std::string path_;
  Fd fd_;  // opened at the first use, and kept open: see run_lock.cc
  bool writable_ = false;
  std::set<int64_t> held_;
};

}  // namespace migcheck

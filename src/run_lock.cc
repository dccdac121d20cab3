// Run claims as open-file-description locks on "<store>-lock": see run_lock.h.
// OFD locks (not classic POSIX ones) because they belong to the open file,
// not the process: closing another descriptor of the same file elsewhere in
// the process cannot drop them, and two RunLocks in one process conflict as
// two processes do.
#include "run_lock.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "errors.h"
#include "log.h"

namespace migcheck {
namespace {

struct flock range(short type, int64_t id) {
  struct flock l {};
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = static_cast<off_t>(id);  // one byte per run id; the file stays empty
  l.l_len = 1;
  l.l_pid = 0;  // required by OFD locks
  return l;
}

}  // namespace

RunLocks::RunLocks(std::string store_path) : path_(std::move(store_path) + "-lock") {}

int RunLocks::fd() {
  if (fd_.fd < 0) {
    fd_ = Fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (fd_.fd < 0)
      throw StoreError("cannot open the lock file " + path_ + ": " + std::strerror(errno));
  }
  return fd_.fd;
}

void RunLocks::claim(int64_t id) {
  struct flock l = range(F_WRLCK, id);
  if (::fcntl(fd(), F_OFD_SETLK, &l) == 0) return;
  const int err = errno;
  if (err == EAGAIN || err == EACCES)
    throw UsageError("run " + std::to_string(id) +
                     " is in use by another migcheck process; stop it (Ctrl-C) or wait for it "
                     "to end");
  // A file system without locks (some network mounts): say so, and go on
  // unprotected rather than refuse to work.
  log::warn("cannot lock run " + std::to_string(id) + " in " + path_ + " (" + std::strerror(err) +
            "): nothing stops a second process from writing the same run");
}

void RunLocks::release(int64_t id) {
  if (fd_.fd < 0) return;
  struct flock l = range(F_UNLCK, id);
  ::fcntl(fd_.fd, F_OFD_SETLK, &l);
}

}  // namespace migcheck

// Run claims as open-file-description locks on the store file: see run_lock.h.
// OFD locks (not classic POSIX ones) because they belong to the open file,
// not the process: closing another descriptor of the same file elsewhere in
// the process cannot drop them, and two RunLocks in one process conflict as
// two processes do. The descriptor stays open for the RunLocks' lifetime:
// closing a descriptor of the database file drops the classic POSIX locks
// SQLite holds on it, so the Store closes its SQLite connection first.
#include "run_lock.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "errors.h"
#include "log.h"

namespace migcheck {
namespace {

// SQLite locks bytes 1 GiB .. 1 GiB + 512 of the database file; the run
// claims live from 4 GiB up, where no SQLite lock reaches. Locks beyond the
// end of a file are allowed, and the file is never written there.
constexpr off_t kClaimBase = off_t{1} << 32;

struct flock range(short type, int64_t id) {
  struct flock l {};
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = kClaimBase + static_cast<off_t>(id);  // one byte per run id
  l.l_len = 1;
  l.l_pid = 0;  // required by OFD locks
  return l;
}

}  // namespace

RunLocks::RunLocks(std::string store_path) : path_(std::move(store_path)) {}

int RunLocks::fd() {
  if (fd_.fd < 0) {
    // The store itself (never created here: the Store creates it). A reader
    // of a read-only store can still probe claims on a read-only descriptor.
    fd_ = Fd(::open(path_.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY));
    writable_ = fd_.fd >= 0;
    if (fd_.fd < 0 && (errno == EACCES || errno == EROFS))
      fd_ = Fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (fd_.fd < 0)
      throw StoreError("cannot open store " + path_ + " to lock its runs: " + std::strerror(errno));
  }
  return fd_.fd;
}

void RunLocks::claim(int64_t id) {
  const int f = fd();
  if (!writable_)
    throw StoreError("cannot claim run " + std::to_string(id) + ": store " + path_ +
                     " is read-only");
  struct flock l = range(F_WRLCK, id);
  if (::fcntl(f, F_OFD_SETLK, &l) == 0) {
    held_.insert(id);
    return;
  }
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
  held_.erase(id);
  if (fd_.fd < 0) return;
  struct flock l = range(F_UNLCK, id);
  ::fcntl(fd_.fd, F_OFD_SETLK, &l);
}

bool RunLocks::is_free(int64_t id) {
  if (held_.count(id)) return false;
  int f = -1;
  try {
    f = fd();
  } catch (const StoreError&) {
    return false;
  }
  // F_OFD_GETLK reports no conflict with this description's own locks.
  struct flock l = range(F_WRLCK, id);
  if (::fcntl(f, F_OFD_GETLK, &l) != 0) return false;
  return l.l_type == F_UNLCK;
}

}  // namespace migcheck

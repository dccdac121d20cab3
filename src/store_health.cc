// Store damage detection: see store_health.h.
#include "store_health.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace migcheck {
namespace {

std::mutex g_mu;
std::optional<std::string> g_damage;

}  // namespace

StoreHealth::StoreHealth(std::string path) : path_(std::move(path)) {}

void StoreHealth::baseline() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return;
  std::lock_guard lock(mu_);
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  size_ = st.st_size;
}

std::optional<std::string> StoreHealth::check() {
  struct stat st {};
  const bool gone = ::stat(path_.c_str(), &st) != 0;
  const int err = errno;
  std::optional<std::string> why;
  {
    std::lock_guard lock(mu_);
    if (damage_) return damage_;
    if (size_ < 0) return std::nullopt;
    if (gone && err == ENOENT)
      why = path_ + " was deleted while the run was writing it";
    else if (gone)
      return std::nullopt;  // cannot tell; the next write will
    else if (st.st_dev != dev_ || st.st_ino != ino_)
      why = path_ + " was replaced by another file while the run was writing it";
    else if (st.st_size < size_)
      why = path_ + " was truncated while the run was writing it (" + std::to_string(size_) +
            " -> " + std::to_string(st.st_size) + " bytes)";
    else
      size_ = st.st_size;
  }
  if (why) damaged(*why);
  return why;
}

void StoreHealth::damaged(const std::string& why) {
  {
    std::lock_guard lock(mu_);
    if (!damage_) damage_ = why;
  }
  std::lock_guard lock(g_mu);
  if (!g_damage) g_damage = why;
}

std::optional<std::string> StoreHealth::damage() const {
  std::lock_guard lock(mu_);
  return damage_;
}

std::optional<std::string> store_damage() {
  std::lock_guard lock(g_mu);
  return g_damage;
}

}  // namespace migcheck

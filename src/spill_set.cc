// DistinctDigests: in-memory digests up to a shared budget, sorted runs in an
// unlinked temporary file beyond it, and a k-way merge that counts and sums
// each distinct digest once.
#include "spill_set.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <queue>
#include <string>

#include "errors.h"
#include "temp_file.h"

namespace migcheck {
namespace {

// A set with fewer digests than this keeps them in memory even when the
// budget is spent (by other sets): runs of a few records would make the
// merge slow, and this much is small.
constexpr size_t kMinRun = 4096;
// Records read at a time from each run during a merge (16 KiB).
constexpr size_t kReadRecords = 1024;
// More runs than this are first merged into fewer (bounds the read buffers).
constexpr size_t kMaxFanIn = 64;
constexpr size_t kRecord = sizeof(Digest128);

bool less(const Digest128& a, const Digest128& b) {
  return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
}

constexpr std::string_view kPurpose = "temporary file for deduplicating a big collection";

Fd open_temp() {
  return open_temp_file(kPurpose, "migcheck-dedupe");
}

void write_all(int fd, const Digest128* data, size_t n, uint64_t at_record) {
  write_all_at(fd, data, n * kRecord, at_record * kRecord, kPurpose);
}

void read_all(int fd, Digest128* data, size_t n, uint64_t at_record) {
  read_all_at(fd, data, n * kRecord, at_record * kRecord, kPurpose);
}

// Reads one sorted run in small pieces.
struct Cursor {
  uint64_t next = 0;  // next record to read from the file
  uint64_t end = 0;
  std::vector<Digest128> buf;
  size_t pos = 0;

  bool fill(int fd) {
    if (pos < buf.size()) return true;
    if (next >= end) return false;
    const auto n = static_cast<size_t>(std::min<uint64_t>(kReadRecords, end - next));
    buf.resize(n);
    read_all(fd, buf.data(), n, next);
    next += n;
    pos = 0;
    return true;
  }
};

}  // namespace

DistinctDigests::~DistinctDigests() {
  release(mem_.size());
}

void DistinctDigests::release(size_t n) {
  if (budget_) budget_->used -= std::min(budget_->used, n);
}

void DistinctDigests::add(const Digest128& d) {
  const bool spent =
      budget_ ? budget_->used >= budget_->limit : mem_.size() >= DigestBudget{}.limit;
  if (spent && mem_.size() >= kMinRun) spill();
  mem_.push_back(d);
  if (budget_) ++budget_->used;
}

void DistinctDigests::spill() {
  const size_t held = mem_.size();
  std::sort(mem_.begin(), mem_.end(), less);
  mem_.erase(std::unique(mem_.begin(), mem_.end()), mem_.end());
  if (file_.fd < 0) file_ = open_temp();
  write_all(file_.fd, mem_.data(), mem_.size(), file_records_);
  runs_.push_back({file_records_, mem_.size()});
  file_records_ += mem_.size();
  release(held);  // the budget counted them before deduplication
  mem_.clear();
}

DistinctDigests::Result DistinctDigests::finish() {
  Result res;
  auto take = [&res, have = false, last = Digest128{}](const Digest128& d) mutable {
    if (have && d == last) return;
    have = true;
    last = d;
    ++res.count;
    res.sum += d;
  };
  if (runs_.empty()) {
    std::sort(mem_.begin(), mem_.end(), less);
    for (const Digest128& d : mem_) take(d);
    clear();
    return res;
  }
  if (!mem_.empty()) spill();
  // Merges runs[first, last) into `sink`, in order.
  auto merge = [&](size_t first, size_t last, const std::function<void(const Digest128&)>& sink) {
    std::vector<Cursor> cur(last - first);
    auto greater = [&cur](size_t a, size_t b) {
      return less(cur[b].buf[cur[b].pos], cur[a].buf[cur[a].pos]);
    };
    std::priority_queue<size_t, std::vector<size_t>, decltype(greater)> heap(greater);
    for (size_t k = 0; k < cur.size(); ++k) {
      cur[k].next = runs_[first + k].offset;
      cur[k].end = runs_[first + k].offset + runs_[first + k].count;
      if (cur[k].fill(file_.fd)) heap.push(k);
    }
    while (!heap.empty()) {
      const size_t k = heap.top();
      heap.pop();
      sink(cur[k].buf[cur[k].pos++]);
      if (cur[k].fill(file_.fd)) heap.push(k);
    }
  };
  // Too many runs for one merge: merge groups of them into longer runs,
  // appended to the file, until few enough are left.
  while (runs_.size() > kMaxFanIn) {
    std::vector<Run> merged;
    for (size_t first = 0; first < runs_.size(); first += kMaxFanIn) {
      const size_t last = std::min(runs_.size(), first + kMaxFanIn);
      Run out{file_records_, 0};
      std::vector<Digest128> wbuf;
      wbuf.reserve(kReadRecords);
      auto flush = [&] {
        write_all(file_.fd, wbuf.data(), wbuf.size(), file_records_);
        file_records_ += wbuf.size();
        out.count += wbuf.size();
        wbuf.clear();
      };
      merge(first, last, [&](const Digest128& d) {
        wbuf.push_back(d);
        if (wbuf.size() == kReadRecords) flush();
      });
      flush();
      merged.push_back(out);
    }
    runs_ = std::move(merged);
  }
  merge(0, runs_.size(), take);
  clear();
  return res;
}

void DistinctDigests::clear() {
  release(mem_.size());
  mem_ = {};
  runs_.clear();
  file_records_ = 0;
  file_.close();
}

}  // namespace migcheck

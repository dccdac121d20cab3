// KeyHashTable: sorted runs of fixed-size records in an unlinked temporary
// file, merged once into one sorted file with a sparse in-memory index.
#include "key_hash_table.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <queue>

#include <xxhash.h>

#include "errors.h"
#include "temp_file.h"

namespace migcheck {
namespace {

constexpr size_t kHash = sizeof(Digest128);
// Bytes read at a time from each run while merging.
constexpr size_t kReadBytes = 16 << 10;

constexpr std::string_view kPurpose = "temporary file of the snapshot compare";

Fd open_temp() {
  return open_temp_file(kPurpose, "migcheck-keys");
}

void write_at(int fd, const char* p, size_t n, uint64_t off) {
  write_all_at(fd, p, n, off, kPurpose);
}

void read_at_fd(int fd, char* p, size_t n, uint64_t off) {
  read_all_at(fd, p, n, off, kPurpose);
}

Digest128 hash_of(const char* rec) {
  Digest128 d;
  std::memcpy(&d.hi, rec, 8);
  std::memcpy(&d.lo, rec + 8, 8);
  return d;
}

bool less(const Digest128& a, const Digest128& b) {
  return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
}

}  // namespace

Digest128 db_key_hash(int db, std::string_view key) {
  const auto h = XXH3_128bits_withSeed(key.data(), key.size(), static_cast<XXH64_hash_t>(db) + 1);
  Digest128 d;
  d.lo = h.low64;
  d.hi = h.high64;
  return d;
}

KeyHashTable::KeyHashTable(size_t payload, size_t budget)
    : payload_(payload), rec_(kHash + payload), budget_(std::max<size_t>(budget, 1024)) {}

void KeyHashTable::add(const Digest128& hash, std::string_view payload) {
  if (sealed_) throw Error("KeyHashTable::add after seal");
  char h[kHash];
  std::memcpy(h, &hash.hi, 8);
  std::memcpy(h + 8, &hash.lo, 8);
  mem_.append(h, kHash);
  mem_.append(payload.substr(0, payload_));
  if (payload.size() < payload_) mem_.append(payload_ - payload.size(), '\0');
  if (mem_.size() / rec_ >= budget_) spill();
}

void KeyHashTable::spill() {
  const size_t n = mem_.size() / rec_;
  if (n == 0) return;
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return less(hash_of(mem_.data() + size_t{a} * rec_), hash_of(mem_.data() + size_t{b} * rec_));
  });
  if (runs_file_.fd < 0) runs_file_ = open_temp();
  std::string out;
  out.reserve(mem_.size());
  for (uint32_t i : order) out.append(mem_.data() + size_t{i} * rec_, rec_);
  write_at(runs_file_.fd, out.data(), out.size(), runs_records_ * rec_);
  runs_.push_back({runs_records_, n});
  runs_records_ += n;
  mem_.clear();
  mem_.shrink_to_fit();
}

void KeyHashTable::seal() {
  if (sealed_) return;
  spill();
  sealed_ = true;
  sorted_ = open_temp();
  // k-way merge of the runs, each read kReadBytes at a time.
  struct Cursor {
    uint64_t next = 0, end = 0;  // records of the run not yet buffered
    std::string buf;
    size_t pos = 0;  // in records within buf
  };
  const size_t per_read = std::max<size_t>(1, kReadBytes / rec_);
  std::vector<Cursor> cur(runs_.size());
  auto refill = [&](Cursor& c) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(per_read, c.end - c.next));
    c.buf.resize(n * rec_);
    if (n) read_at_fd(runs_file_.fd, c.buf.data(), n * rec_, c.next * rec_);
    c.next += n;
    c.pos = 0;
    return n > 0;
  };
  auto head = [&](size_t i) { return hash_of(cur[i].buf.data() + cur[i].pos * rec_); };
  auto greater = [&](size_t a, size_t b) { return less(head(b), head(a)); };
  std::priority_queue<size_t, std::vector<size_t>, decltype(greater)> heap(greater);
  for (size_t i = 0; i < runs_.size(); ++i) {
    cur[i].next = runs_[i].offset;
    cur[i].end = runs_[i].offset + runs_[i].count;
    if (refill(cur[i])) heap.push(i);
  }
  std::string out;
  uint64_t written = 0;
  Digest128 last{};
  bool have_last = false;
  while (!heap.empty()) {
    const size_t i = heap.top();
    heap.pop();
    const char* rec = cur[i].buf.data() + cur[i].pos * rec_;
    const Digest128 h = hash_of(rec);
    if (!have_last || !(h == last)) {
      if ((sealed_count_ % kIndexStride) == 0) index_.push_back(h);
      out.append(rec, rec_);
      ++sealed_count_;
      last = h;
      have_last = true;
      if (out.size() >= kReadBytes * 4) {
        write_at(sorted_.fd, out.data(), out.size(), written);
        written += out.size();
        out.clear();
      }
    }
    if (++cur[i].pos * rec_ < cur[i].buf.size() || refill(cur[i])) heap.push(i);
  }
  write_at(sorted_.fd, out.data(), out.size(), written);
  runs_file_.close();
}

std::string KeyHashTable::read_at(uint64_t offset_bytes, size_t n) const {
  std::string s(n, '\0');
  read_at_fd(sorted_.fd, s.data(), n, offset_bytes);
  return s;
}

std::optional<std::string> KeyHashTable::find(const Digest128& hash) const {
  if (!sealed_) throw Error("KeyHashTable::find before seal");
  // The last block whose first hash is <= hash.
  auto it = std::upper_bound(index_.begin(), index_.end(), hash,
                             [](const Digest128& a, const Digest128& b) { return less(a, b); });
  if (it == index_.begin()) return std::nullopt;
  const uint64_t block = static_cast<uint64_t>(it - index_.begin()) - 1;
  const uint64_t first = block * kIndexStride;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(kIndexStride, sealed_count_ - first));
  const std::string buf = read_at(first * rec_, n * rec_);
  size_t lo = 0, hi = n;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (less(hash_of(buf.data() + mid * rec_), hash))
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < n && hash_of(buf.data() + lo * rec_) == hash)
    return buf.substr(lo * rec_ + kHash, payload_);
  return std::nullopt;
}

}  // namespace migcheck

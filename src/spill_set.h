// DistinctDigests: the duplicate-free count and wrapping sum of 128-bit
// element digests, in bounded memory. HSCAN/SSCAN may return an element more
// than once; the reader gives every element's digest here and takes the
// distinct ones' count and sum at the end. Up to a memory budget (shared by
// all the sets of one KeyReader) digests are held in memory; beyond it, a
// set sorts its digests and writes them as a run to a temporary file
// (unlinked as soon as created), and finish() merges the runs, counting each
// distinct digest once. Memory stays within the budget plus a small read
// buffer per run, whatever the size of the collection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "digest.h"
#include "fd.h"
#include "noncopyable.h"

namespace migcheck {

// Digests held in memory by the sets sharing it (16 bytes each).
struct DigestBudget {
  size_t limit = size_t{1} << 18;  // 4 MiB of digests
  size_t used = 0;
};

class DistinctDigests : NonCopyable {
 public:
  explicit DistinctDigests(DigestBudget* budget = nullptr) : budget_(budget) {}
  ~DistinctDigests();

  void set_budget(DigestBudget* budget) { budget_ = budget; }
  // Adds one element's digest; a digest already added is counted once.
  // Throws Error when the temporary file cannot be written.
  void add(const Digest128& d);

  struct Result {
    uint64_t count = 0;  // distinct digests
    Digest128 sum{};     // wrapping sum of the distinct digests
  };
  // The distinct digests added since the last clear(); then clear()s.
  Result finish();
  // Forgets everything: memory given back, temporary file closed.
  void clear();

  size_t runs() const { return runs_.size(); }  // runs written so far (tests)

 private:
  void spill();
  void release(size_t n);

  DigestBudget* budget_;
  std::vector<Digest128> mem_;
  Fd file_;
  struct Run {
    uint64_t offset = 0;  // in records
    uint64_t count = 0;
  };
  std::vector<Run> runs_;
  uint64_t file_records_ = 0;
};

}  // namespace migcheck

// Puts results that workers finish out of order back into the order their
// items were produced (a sequence number per item, from 0), so that what is
// committed is always a prefix of the input: one position (the last item
// committed) then describes exactly what is stored, which is what makes a
// checkpoint exact.
//
// Not synchronized: the caller holds the lock that also guards what its
// commit function writes (counters, positions, the checkpoint they make).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>

namespace migcheck {

template <typename T>
class OrderedCommit {
 public:
  // Takes result `seq` and hands every result now in sequence, in order, to
  // `commit` (called as commit(T&)). A result whose commit throws stays
  // first in line, and the exception propagates.
  template <typename F>
  void add(uint64_t seq, T result, F&& commit) {
    waiting_.insert_or_assign(seq, std::move(result));
    for (auto it = waiting_.begin(); it != waiting_.end() && it->first == next_;) {
      commit(it->second);
      it = waiting_.erase(it);
      ++next_;
    }
  }

  // The sequence number committed next (every one before it is committed).
  uint64_t next() const { return next_; }
  // Results finished ahead of their turn.
  size_t waiting() const { return waiting_.size(); }
  // Forgets everything: the sequence starts again at 0.
  void reset() {
    waiting_.clear();
    next_ = 0;
  }

 private:
  std::map<uint64_t, T> waiting_;
  uint64_t next_ = 0;
};

}  // namespace migcheck

// Random valid LZF data for tests, written token by token from the format
// (Redis lzf_d.c): literal runs of 1-32 bytes and back-references of 3-264
// bytes up to 8192 bytes back, with back-references exactly 8192 back and
// overlapping ones (offset below the length) made often on purpose.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>

namespace migcheck::test {

struct LzfData {
  std::string packed;
  size_t raw_len = 0;  // what it decompresses to
};

// At least `target` bytes of output; `literal_percent` of the tokens are
// literal runs (the rest compress well).
inline LzfData random_lzf(std::mt19937_64& rng, size_t target, int literal_percent) {
  LzfData d;
  std::string& z = d.packed;
  while (d.raw_len < target) {
    if (d.raw_len == 0 || static_cast<int>(rng() % 100) < literal_percent) {
      const size_t n = 1 + rng() % 32;
      z.push_back(static_cast<char>(n - 1));
      for (size_t i = 0; i < n; ++i) z.push_back(static_cast<char>('a' + rng() % 26));
      d.raw_len += n;
      continue;
    }
    const size_t most = std::min<size_t>(d.raw_len, 8192);
    const unsigned pick = rng() % 8;
    const size_t back = pick == 0   ? most
                        : pick == 1 ? 1 + rng() % std::min<size_t>(most, 4)
                                    : 1 + rng() % most;
    const size_t len = 3 + rng() % 262;  // 3..264
    const size_t n = len - 2;
    const unsigned hi = static_cast<unsigned>((back - 1) >> 8);
    if (n < 7) {
      z.push_back(static_cast<char>((n << 5) | hi));
    } else {
      z.push_back(static_cast<char>((7 << 5) | hi));
      z.push_back(static_cast<char>(n - 7));
    }
    z.push_back(static_cast<char>((back - 1) & 0xff));
    d.raw_len += len;
  }
  return d;
}

}  // namespace migcheck::test

// Reading a key enumerator (Scanner, Sampler) in tests: every key it gives
// until it says it is done, or its first pages only. One copy here instead
// of a `while (s.next(keys)) {}` loop per test.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

namespace migcheck::test {

// Calls `enumerator.next(into)` until it reports the end; `into` gathers
// every key.
template <class Enumerator>
void drain(Enumerator& enumerator, std::vector<std::string>& into) {
  while (enumerator.next(into)) {
  }
}

// Every key `enumerator` gives, until it reports the end.
template <class Enumerator>
std::vector<std::string> drain(Enumerator& enumerator) {
  std::vector<std::string> keys;
  drain(enumerator, keys);
  return keys;
}

// The keys of the first `pages` pages of a Scanner that must enumerate by
// slot (a cluster); the rest is left for the test to read.
template <class SlotScanner>
std::vector<std::string> first_slot_pages(SlotScanner& scanner, int pages) {
  REQUIRE(scanner.by_slot());
  std::vector<std::string> keys;
  for (int i = 0; i < pages; ++i) scanner.next(keys);
  return keys;
}

}  // namespace migcheck::test

// Temporary key names that land in a given key's hash slot: the key's own
// hash tag when it has one, otherwise a short tag chosen (once, from a table
// of one tag per slot) to hash to the key's slot. The copier builds values
// out of sight under such names and RENAMEs them into place, which a cluster
// allows only within one slot.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace migcheck {

// A key name in the same hash slot as `key`, for building a value out of
// sight: "{<tag>}migcheck:tmp:<unique>". The tag is the key's own hash tag
// when it has one, otherwise a short string chosen to hash to the key's slot
// (a key without a tag is hashed whole, and wrapping it in {} fails as soon
// as it holds a '}').
std::string temp_key_for(std::string_view key, std::string_view unique);

// One writer's temporary key names: temp_key_for with a random prefix per
// writer (two writers, or two runs, never share a name) and a counter.
class TempKeyNames {
 public:
  TempKeyNames();
  std::string next(std::string_view key);

 private:
  std::string prefix_;
  uint64_t counter_ = 0;
};

}  // namespace migcheck

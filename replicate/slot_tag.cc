// Temporary key names in a given key's hash slot (see slot_tag.h): the table
// of one short tag per slot, built once, and the naming rule.
#include "slot_tag.h"

#include <array>
#include <cstdio>
#include <random>

#include "slot.h"

namespace migcheck {
namespace {

// Tags that hash to each slot, found once; only keys that have no usable tag
// of their own need them.
const std::array<std::string, kSlots>& slot_tags() {
  static const std::array<std::string, kSlots> table = [] {
    std::array<std::string, kSlots> t;
    size_t left = kSlots;
    char buf[24];
    for (uint64_t n = 0; left > 0; ++n) {
      int len = std::snprintf(buf, sizeof buf, "t%llx", static_cast<unsigned long long>(n));
      std::string_view s(buf, static_cast<size_t>(len));
      auto slot = static_cast<size_t>(crc16_xmodem(s) & (kSlots - 1));
      if (t[slot].empty()) {
        t[slot] = std::string(s);
        --left;
      }
    }
    return t;
  }();
  return table;
}

}  // namespace

std::string temp_key_for(std::string_view key, std::string_view unique) {
  std::string_view tag = hash_tag(key);
  const bool own_tag = tag.size() != key.size();
  if (!own_tag) {
    // Hashed whole: "{key}" reproduces the slot only for a non-empty key
    // without '}'; long keys would make long temporary names for nothing.
    if (key.empty() || key.find('}') != std::string_view::npos || key.size() > 128)
      tag = slot_tags()[static_cast<size_t>(key_slot(key))];
  }
  std::string out;
  out.reserve(tag.size() + unique.size() + 16);
  out.push_back('{');
  out.append(tag);
  out.append("}migcheck:tmp:");
  out.append(unique);
  return out;
}

TempKeyNames::TempKeyNames() {
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08x%08x:", rd(), rd());
  prefix_ = buf;
}

std::string TempKeyNames::next(std::string_view key) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(++counter_));
  return temp_key_for(key, prefix_ + buf);
}

}  // namespace migcheck

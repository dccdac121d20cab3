// `migcheck info dump.rdb`: the summary of a snapshot file, gathered in one
// streaming pass with memory bounded whatever the file size: RDB version,
// aux fields (redis-ver, ctime, used-mem...), keys and expiries per db and
// per type, the biggest keys by serialised size (a small heap), module types
// and functions found.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace migcheck {

struct RdbTypeCount {
  uint64_t keys = 0;
  uint64_t expires = 0;
};

struct RdbDbSummary {
  uint64_t keys = 0;
  uint64_t expires = 0;
  uint64_t expired = 0;                          // expiry already past when read
  std::map<std::string, RdbTypeCount> types;     // "string", "hash"... module type names
  std::map<std::string, uint64_t> encodings;     // "listpack", "quicklist"... -> keys
  uint64_t resize_keys = 0, resize_expires = 0;  // RESIZEDB hints, when given
};

struct RdbBigKey {
  int db = 0;
  std::string key;  // raw bytes
  std::string type;
  uint64_t bytes = 0;  // serialised size in the file
};

struct RdbSummary {
  std::string path;
  uint64_t file_bytes = 0;
  int version = 0;
  std::vector<std::pair<std::string, std::string>> aux;
  std::map<int, RdbDbSummary> dbs;
  std::vector<RdbBigKey> biggest;                // largest first
  std::map<std::string, uint64_t> module_types;  // type name -> keys
  std::vector<std::string> module_aux;           // module types with aux data
  std::vector<std::string> functions;            // library names
  bool checksum_verified = false;
};

// Reads the whole file; throws RdbError (offset and what was expected) on a
// corrupt or truncated file. `now_ms` decides which expiries are past.
RdbSummary summarize_rdb(const std::string& path, size_t top = 20, int64_t now_ms = 0);

nlohmann::json to_json(const RdbSummary& s);
void print_text(const RdbSummary& s, std::FILE* out);

// The RDB encoding name of an object type byte ("listpack", "intset"...).
const char* rdb_encoding_name(uint8_t rdb_type);

}  // namespace migcheck

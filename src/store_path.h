// What the file system says about a store's path, for the Store: why it
// cannot be written (SQLite's own words do not say), and the file: URI that
// opens it with query parameters.
#pragma once

#include <string>
#include <string_view>

namespace migcheck {

// " (the directory D is not writable: ...)" or " (the file is not
// writable: ...)", to append to a message; empty when both are writable.
std::string read_only_cause(const std::string& path);

// A file: URI for sqlite3_open_v2 (SQLITE_OPEN_URI) with `query` appended.
std::string file_uri(const std::string& path, std::string_view query);

}  // namespace migcheck

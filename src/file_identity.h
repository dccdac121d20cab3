// What makes a resumed run read the same snapshot file as the run it
// continues: its size, modification time and the SHA-256 of its first MiB
// (a file rewritten in place by a new SAVE changes all three). Shared by the
// snapshot compare and the snapshot replicate checkpoints. Also the RDB
// version in a file's header, read without parsing the file.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace migcheck {

// {"size", "mtime_ns", "head_sha256"}. Throws UsageError when the file
// cannot be read.
nlohmann::json file_identity(const std::string& path);

// The RDB version in a file's header ("REDIS0010"); 0 when it is not one
// (the parser then stops with its own error).
int rdb_header_version(const std::string& path);

}  // namespace migcheck

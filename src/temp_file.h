// Unnamed temporary files for data spilled out of memory (deduplication
// digests, a snapshot compare's key table): created in $TMPDIR (else /tmp)
// with O_TMPFILE, or named and unlinked at once, so nothing is left behind
// whatever ends the process; and whole-buffer positioned reads and writes.
// Errors throw Error naming what the file is for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fd.h"

namespace migcheck {

// `purpose` names the file in errors ("temporary file of ..."); `prefix` its
// name where O_TMPFILE is not supported.
Fd open_temp_file(std::string_view purpose, std::string_view prefix);
void write_all_at(int fd, const void* data, size_t n, uint64_t offset, std::string_view purpose);
// A short read (the file ends before n bytes) is an error too.
void read_all_at(int fd, void* data, size_t n, uint64_t offset, std::string_view purpose);

}  // namespace migcheck

// Build facts come from CMake (MIGCHECK_COMMIT, MIGCHECK_BUILD_TYPE, set on
// this file only so that a new commit rebuilds one file); library versions
// are read at run time where the library tells them, as the dynamic linker
// may load a newer one than the headers we were built with.
#include "version.h"

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <xxhash.h>

#ifndef MIGCHECK_COMMIT
#define MIGCHECK_COMMIT "unknown"
#endif
#ifndef MIGCHECK_BUILD_TYPE
#define MIGCHECK_BUILD_TYPE "unknown"
#endif

namespace migcheck {

std::string version_text() {
  const unsigned xxh = XXH_versionNumber();
  std::string out = std::string("migcheck ") + MIGCHECK_VERSION + "\n";
  out += std::string("commit ") + MIGCHECK_COMMIT + ", " + MIGCHECK_BUILD_TYPE + " build";
#if defined(__clang__)
  out += ", clang " __clang_version__;
#elif defined(__GNUC__)
  out += ", g++ " __VERSION__;
#endif
  out += "\nhiredis " + std::to_string(HIREDIS_MAJOR) + "." + std::to_string(HIREDIS_MINOR) + "." +
         std::to_string(HIREDIS_PATCH);
  out += ", " + std::string(OpenSSL_version(OPENSSL_VERSION));
  out += ", SQLite " + std::string(sqlite3_libversion());
  out += ", xxHash " + std::to_string(xxh / 10000) + "." + std::to_string(xxh / 100 % 100) + "." +
         std::to_string(xxh % 100);
  return out;
}

}  // namespace migcheck

// Test data for the report tests: a store populated through the Store API
// with a compare run (several rounds, every difference kind, binary and
// hostile key names), a repair run of it, and an interrupted replicate run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "noncopyable.h"
#include "server_info.h"
#include "store.h"
#include "value_diff.h"

namespace migcheck::test {

// Key names that would run script if a report pasted them into markup.
inline constexpr std::string_view kScriptKey = "<script>alert(1)</script>";
inline constexpr std::string_view kImgKey = "\"><img src=x onerror=alert(1)>";
inline constexpr std::string_view kTitleKey = "<img src=x onerror=\"document.title='pwned'\">";
// Not UTF-8: a NUL and bytes no UTF-8 sequence may hold.
inline const std::string kBinaryKey = std::string("bin\0\xff\xfe:end", 10);

// A stream entry's fields as a value difference's location shows them:
// markup and an ESC byte, which the reports must show as text.
inline const std::string kReportLocationValue = "f=<img src=x onerror=alert(2)>\x1b[31m";
// The location of the stream's value difference (entry 1-1, only on the source).
ValueLocation report_stream_location();

// A fresh directory, removed with everything in it on destruction.
class ReportTempDir : NonCopyable {
 public:
  ReportTempDir();
  ~ReportTempDir();
  const std::filesystem::path& path() const { return dir_; }
  std::string file(std::string_view name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

ServerFacts report_source_facts();  // redis 7.2, 1050 keys, TLS, notifications on
ServerFacts report_target_facts();  // valkey 8, same RDB version, 1 GiB, noeviction

struct ReportRuns {
  int64_t compare = 0;    // done, 3 rounds, 11 differences left in the last
  int64_t repair = 0;     // done, parent = compare, 3 failed keys
  int64_t replicate = 0;  // interrupted, no target facts
};

// The differences of the compare run's last round (round 3).
std::vector<Difference> report_last_round_differences();

// Adds the three runs to `store`, in the order compare, repair, replicate.
ReportRuns populate_report_store(Store& store);
// The same into a new store at `path`, closed again (for the binary to read).
ReportRuns populate_report_file(const std::string& path);

// The start of most report tests, as a TEST_CASE_METHOD fixture: a fresh
// directory holding the store m.db, populated.
struct PopulatedReportStore {
  ReportTempDir dir;
  Store store{dir.file("m.db")};
  ReportRuns runs = populate_report_store(store);
};

}  // namespace migcheck::test

namespace migcheck::test {

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the migcheck binary under test (MIGCHECK_BINARY) with `args`.
CliResult run_migcheck_cli(const std::vector<std::string>& args);

std::string read_report_file(const std::filesystem::path& path);

}  // namespace migcheck::test

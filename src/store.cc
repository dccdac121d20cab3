// The SQLite result store: owns the database connection, the schema and its
// versioning (application_id 'MIGC', user_version), and every SQL statement
// of migcheck. Files that are not ours, or are from a newer schema, are
// inspected read-only and refused before anything is written to them.
#include "store.h"

#include <fcntl.h>
#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <system_error>
#include <utility>

#include "errors.h"
#include "fd.h"
#include "noncopyable.h"
#include "store_path.h"
#include "store_schema.h"

namespace migcheck {
namespace {

using namespace store_schema;

constexpr size_t kPageRows = 1000;

#ifdef MIGCHECK_VERSION
constexpr const char* kVersion = MIGCHECK_VERSION;
#else
constexpr const char* kVersion = "dev";
#endif

constexpr const char* kRunColumns =
    "id, command, parent, started_ms, finished_ms, status, exit_code, source, target, "
    "options_json, source_info_json, target_info_json, totals_json, version";

constexpr const char* kDifferenceColumns =
    "id, round, db, key, kind, source_type, target_type, source_ttl_ms, target_ttl_ms, "
    "source_digest, target_digest, source_size, target_size, detail, location";

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// One open sqlite3 handle, closed on destruction, plus the error reporting
// that names the store path.
class Connection {
 public:
  // `name` is what SQLite opens (a file: URI with SQLITE_OPEN_URI).
  Connection(const std::string& path, int flags, const std::string& name = {}) : path_(path) {
    sqlite3* h = nullptr;
    int rc = sqlite3_open_v2(name.empty() ? path.c_str() : name.c_str(), &h, flags, nullptr);
    h_.reset(h);  // sqlite3_open_v2 allocates a handle even when it fails
    if (rc != SQLITE_OK) {
      if (!h) throw StoreError("cannot open store " + path + ": " + sqlite3_errstr(rc));
      fail("open");
    }
    sqlite3_extended_result_codes(h, 1);
  }

  sqlite3* get() const { return h_.get(); }
  const std::string& path() const { return path_; }

  // Throws the StoreError for the connection's most recent error; `doing` is
  // "open", "read" or "write".
  [[noreturn]] void fail(std::string_view doing) const {
    int code = sqlite3_extended_errcode(get());
    int primary = code & 0xff;
    if (primary == SQLITE_NOTADB && !health_)
      throw StoreError(path_ + " is not a migcheck store (not an SQLite database)");
    std::string msg =
        "cannot " + std::string(doing) + " store " + path_ + ": " + sqlite3_errmsg(get());
    // "unable to open database file" and "disk I/O error" say nothing about why.
    if (primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR) {
      if (int e = sqlite3_system_errno(get()); e != 0)
        msg += " (" + std::generic_category().message(e) + ")";
    }
    if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN) msg += read_only_cause(path_);
    // Once open, a corrupt page or an I/O error is damage: the run says so and
    // offers no resume. (A full disk is not: its transaction is rolled back.)
    if (health_ &&
        (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_IOERR))
      health_->damaged(msg);
    throw StoreError(msg);
  }

  // Set once the store is open: failures from then on are damage.
  void watch(StoreHealth* health) { health_ = health; }

  void exec(const char* sql, std::string_view doing) {
    if (sqlite3_exec(get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(doing);
  }

 private:
  struct Closer {
    void operator()(sqlite3* h) const { sqlite3_close_v2(h); }
  };
  std::unique_ptr<sqlite3, Closer> h_;
  std::string path_;
  StoreHealth* health_ = nullptr;
};

// A std::string read from a BLOB column (Statement::columns): binary-safe
// bytes such as a key.
struct Blob {
  std::string& bytes;
};

// One prepared statement, finalized on destruction. Bind indexes are 1-based,
// column indexes 0-based, as in the C API.
class Statement {
 public:
  Statement(Connection& c, std::string_view sql) : c_(c) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(c.get(), sql.data(), static_cast<int>(sql.size()), &s, nullptr);
    s_.reset(s);
    if (rc != SQLITE_OK) c_.fail("read");
  }

  Statement& bind_int(int i, int64_t v) { return check(sqlite3_bind_int64(get(), i, v)); }
  Statement& bind_null(int i) { return check(sqlite3_bind_null(get(), i)); }
  // A null data pointer would bind NULL; a default string_view has one.
  Statement& bind_text(int i, std::string_view v) {
    const char* p = v.data() ? v.data() : "";
    return check(sqlite3_bind_text64(get(), i, p, v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  // A zero-length blob is bound explicitly: sqlite3_bind_blob with a null
  // pointer would bind NULL, and an empty key is a valid key.
  Statement& bind_blob(int i, std::string_view v) {
    if (v.empty()) return check(sqlite3_bind_zeroblob(get(), i, 0));
    return check(sqlite3_bind_blob64(get(), i, v.data(), v.size(), SQLITE_TRANSIENT));
  }

  // True while there is a row; false when done.
  bool step() {
    int rc = sqlite3_step(get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    c_.fail(sqlite3_stmt_readonly(get()) ? "read" : "write");
  }
  void run() {
    while (step()) {
    }
  }
  void reset() {
    sqlite3_reset(get());  // its error was already reported by step()
  }

  bool is_null(int col) { return sqlite3_column_type(get(), col) == SQLITE_NULL; }
  int64_t int64(int col) { return sqlite3_column_int64(get(), col); }
  int int32(int col) { return sqlite3_column_int(get(), col); }
  std::string text(int col) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(get(), col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(get(), col)))
             : std::string();
  }
  std::string blob(int col) {
    auto* p = static_cast<const char*>(sqlite3_column_blob(get(), col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(get(), col)))
             : std::string();
  }

  // Reads the row's columns 0, 1, ... into `out`, each by its type: int64_t,
  // int, text into a std::string, a BLOB into a Blob, and NULL as an empty
  // std::optional<int64_t>.
  template <typename... T>
  void columns(T&&... out) {
    int col = 0;
    (read(col++, out), ...);
  }

 private:
  sqlite3_stmt* get() const { return s_.get(); }
  void read(int col, int64_t& v) { v = int64(col); }
  void read(int col, int& v) { v = int32(col); }
  void read(int col, std::string& v) { v = text(col); }
  void read(int col, Blob b) { b.bytes = blob(col); }
  void read(int col, std::optional<int64_t>& v) {
    if (!is_null(col)) v = int64(col);
  }
  Statement& check(int rc) {
    if (rc != SQLITE_OK) c_.fail("write");
    return *this;
  }
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  Connection& c_;
  std::unique_ptr<sqlite3_stmt, Finalizer> s_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless committed.
class Transaction : NonCopyable {
 public:
  explicit Transaction(Connection& c) : c_(c) { c_.exec("BEGIN IMMEDIATE", "write"); }
  ~Transaction() {
    // A failed statement may already have ended the transaction.
    if (!committed_ && !sqlite3_get_autocommit(c_.get()))
      sqlite3_exec(c_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    c_.exec("COMMIT", "write");
    committed_ = true;
  }

 private:
  Connection& c_;
  bool committed_ = false;
};

int64_t query_int(Connection& c, const char* sql) {
  Statement s(c, sql);
  return s.step() ? s.int64(0) : 0;
}

enum class Contents { kEmpty, kCurrent, kUpgradable };

// Decides whether a database may be used, without writing to it.
Contents inspect(Connection& c) {
  // The first read of the header is where a non-SQLite file shows up (as
  // SQLITE_NOTADB, which Connection::fail words).
  int64_t objects = query_int(c, "SELECT count(*) FROM sqlite_master");
  int64_t app = query_int(c, "PRAGMA application_id");
  int64_t version = query_int(c, "PRAGMA user_version");
  const std::string& path = c.path();
  if (app == kApplicationId) {
    if (version > kSchemaVersion)
      throw StoreError(path + " was written by a newer migcheck (schema " +
                       std::to_string(version) + ", this build knows " +
                       std::to_string(kSchemaVersion) + "); refusing to modify it");
    if (version == kSchemaVersion) return Contents::kCurrent;
    if ((version == 1 || version == 2) && objects > 0) return Contents::kUpgradable;
    if (objects == 0) return Contents::kEmpty;
    throw StoreError(path + " has an unknown migcheck schema (" + std::to_string(version) +
                     "); refusing to modify it");
  }
  if (app == 0 && version == 0 && objects == 0) return Contents::kEmpty;
  throw StoreError(path +
                   " is not a migcheck store (foreign SQLite database); refusing to modify it");
}

std::string kinds_clause(const DifferenceFilter& f) {
  if (f.kinds.empty()) return "";
  std::string s = " AND kind IN (";
  for (size_t i = 0; i < f.kinds.size(); ++i) s += i ? ",?" : "?";
  return s + ")";
}

RunRecord read_run(Statement& s) {
  RunRecord r;
  s.columns(r.id, r.command, r.parent, r.started_ms, r.finished_ms, r.status, r.exit_code, r.source,
            r.target, r.options_json, r.source_info_json, r.target_info_json, r.totals_json,
            r.version);
  return r;
}

// Reads the columns of kDifferenceColumns (column 0 is the id).
Difference read_difference(Statement& s) {
  Difference d;
  s.columns(d.id, d.round, d.db, Blob{d.key}, d.kind, d.source_type, d.target_type, d.source_ttl_ms,
            d.target_ttl_ms, d.source_digest, d.target_digest, d.source_size, d.target_size,
            d.detail, d.location);
  return d;
}

std::vector<std::pair<std::string, int64_t>> read_counts(Statement& s) {
  std::vector<std::pair<std::string, int64_t>> out;
  while (s.step()) out.emplace_back(s.text(0), s.int64(1));
  return out;
}

}  // namespace

struct Store::Db {
  explicit Db(Connection c) : conn(std::move(c)) {}
  Connection conn;

  // The round a filter means: its own, or the run's last one.
  int resolve_round(int64_t run, const DifferenceFilter& f) {
    if (f.round) return *f.round;
    for (const char* sql : {"SELECT max(round) FROM rounds WHERE run = ?",
                            "SELECT max(round) FROM differences WHERE run = ?"}) {
      Statement s(conn, sql);
      s.bind_int(1, run);
      if (s.step() && !s.is_null(0)) return s.int32(0);
    }
    return 0;
  }

  void require_changed(int64_t run) {
    if (sqlite3_changes(conn.get()) == 0)
      throw StoreError("store " + conn.path() + " has no run " + std::to_string(run));
  }

  // UPDATE runs SET `assignments` (each "column = ?") WHERE id = run, with
  // `values` bound in order; the run must exist.
  void update_run(int64_t run, const char* assignments,
                  std::initializer_list<std::string_view> values) {
    Statement s(conn, std::string("UPDATE runs SET ") + assignments + " WHERE id = ?");
    int i = 1;
    for (std::string_view v : values) s.bind_text(i++, v);
    s.bind_int(i, run);
    s.run();
    require_changed(run);
  }

  // count(*) of `table`'s rows of a run (and round, when given), per value
  // of `group` (a column or an expression over one), ordered by it.
  std::vector<std::pair<std::string, int64_t>> count_per(const char* table, const char* group,
                                                         int64_t run, std::optional<int> round) {
    Statement s(conn, std::string("SELECT ") + group + " AS g, count(*) FROM " + table +
                          " WHERE run = ?" + (round ? " AND round = ?" : "") +
                          " GROUP BY g ORDER BY g");
    s.bind_int(1, run);
    if (round) s.bind_int(2, *round);
    return read_counts(s);
  }
};

Store::Store(const std::string& path, bool create, bool read_only)
    : path_(path), locks_(path), health_(path) {
  std::error_code ec;
  bool exists = std::filesystem::exists(path, ec);
  if (ec) throw StoreError("cannot open store " + path + ": " + ec.message());
  if (!exists && !create) throw StoreError("cannot open store " + path + ": no such file");
  // SQLite would block on a FIFO and misread devices and /proc files as empty.
  if (exists && !std::filesystem::is_regular_file(path, ec))
    throw StoreError("cannot open store " + path + ": not a regular file");
  if (!exists) {
    // Created here, so a refusal names its real cause (SQLite says "No such
    // file or directory" of a read-only directory). An empty file is an
    // empty database to SQLite.
    Fd created(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644));
    if (created.fd < 0 && errno != EEXIST)
      throw StoreError("cannot open store " + path + ": cannot create it: " + std::strerror(errno));
    exists = true;
  }

  // Refusals are decided on a read-only connection, so a file that is not
  // ours is never written, not even by a journal rollback or a checkpoint.
  Contents contents = Contents::kEmpty;
  if (read_only) {
    // Readers (diffs, report) never write. A WAL store in a directory they
    // cannot write is opened immutable: nobody can be writing it there.
    std::optional<Connection> ro;
    try {
      ro.emplace(path, SQLITE_OPEN_READONLY);
      contents = inspect(*ro);
    } catch (const StoreError&) {
      if (read_only_cause(path).empty()) throw;
      ro.emplace(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, file_uri(path, "immutable=1"));
      contents = inspect(*ro);
    }
    if (contents != Contents::kEmpty) {
      db_ = std::make_unique<Db>(std::move(*ro));
      return;
    }
    // An empty file: the schema is written, as for any store opened.
  } else {
    Connection probe(path, SQLITE_OPEN_READONLY);
    contents = inspect(probe);
  }

  Connection c(path, SQLITE_OPEN_READWRITE | (exists ? 0 : SQLITE_OPEN_CREATE));
  sqlite3_busy_timeout(c.get(), 5000);
  c.exec("PRAGMA foreign_keys = ON", "open");
  if (contents != Contents::kCurrent) {
    Transaction tx(c);
    // Checked again under the write lock: another process may have created
    // (or claimed) the file since the probe.
    const Contents now = inspect(c);
    if (now == Contents::kEmpty) {
      c.exec(kSchema, "write");
      c.exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str(), "write");
    } else if (now == Contents::kUpgradable) {
      if (query_int(c, "PRAGMA user_version") < 2) c.exec(kUpgradeFrom1, "write");
      c.exec(kUpgradeFrom2, "write");
    }
    if (now != Contents::kCurrent)
      c.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str(), "write");
    tx.commit();
  }
  // A store opened from a read-only file can still be read; switching its
  // journal mode would be a write.
  if (!sqlite3_db_readonly(c.get(), "main")) c.exec("PRAGMA journal_mode = WAL", "write");
  c.exec("PRAGMA synchronous = NORMAL", "open");
  c.watch(&health_);
  health_.baseline();
  db_ = std::make_unique<Db>(std::move(c));
}

RunRecord Store::shown(RunRecord r) {
  // A process killed (SIGKILL, a crash) never wrote its end; its claim died.
  if (r.status == "running" && locks_.is_free(r.id)) r.status = "interrupted";
  return r;
}

// Around every write: damage stops it, and the size after it is compared by
// the next one, so a cut is found before SQLite writes pages past it.
struct Store::Written {
  explicit Written(Store& s) : store(s) { store.require_intact(); }
  ~Written() { store.health_.check(); }
  Store& store;
};

void Store::require_intact() {
  if (auto why = health_.check()) throw StoreError(*why + "; the run's results are not all in it");
}

Store::~Store() = default;

int64_t Store::begin_run(RunRecord run) {
  std::lock_guard lock(mu_);
  Written written(*this);
  Statement s(
      db_->conn,
      "INSERT INTO runs(command, parent, started_ms, finished_ms, status, exit_code, source, "
      "target, options_json, source_info_json, target_info_json, totals_json, version) "
      "VALUES(?, ?, ?, 0, 'running', -1, ?, ?, ?, ?, ?, ?, ?)");
  s.bind_text(1, run.command);
  if (run.parent)
    s.bind_int(2, *run.parent);
  else
    s.bind_null(2);
  s.bind_int(3, now_ms());
  s.bind_text(4, run.source);
  s.bind_text(5, run.target);
  s.bind_text(6, run.options_json);
  s.bind_text(7, run.source_info_json);
  s.bind_text(8, run.target_info_json);
  s.bind_text(9, run.totals_json);
  s.bind_text(10, kVersion);
  s.run();
  const int64_t id = sqlite3_last_insert_rowid(db_->conn.get());
  locks_.claim(id);
  return id;
}

void Store::set_server_info(int64_t run, std::string_view source_json,
                            std::string_view target_json) {
  std::lock_guard lock(mu_);
  Written written(*this);
  db_->update_run(run, "source_info_json = ?, target_info_json = ?", {source_json, target_json});
}

void Store::set_totals(int64_t run, std::string_view totals_json) {
  std::lock_guard lock(mu_);
  Written written(*this);
  db_->update_run(run, "totals_json = ?", {totals_json});
}

void Store::set_options(int64_t run, std::string_view options_json) {
  std::lock_guard lock(mu_);
  Written written(*this);
  db_->update_run(run, "options_json = ?", {options_json});
}

void Store::finish_run(int64_t run, std::string_view status, int exit_code) {
  std::lock_guard lock(mu_);
  if (auto why = health_.check()) {  // neither done nor resumable: failed, where that works
    try {
      Statement f(db_->conn,
                  "UPDATE runs SET finished_ms = ?, status = 'failed', exit_code = 2 WHERE id = ?");
      f.bind_int(1, now_ms()).bind_int(2, run).run();
    } catch (const StoreError&) {
    }
    locks_.release(run);
    throw StoreError(*why + "; the run's results are not all in it");
  }
  Statement s(db_->conn, "UPDATE runs SET finished_ms = ?, status = ?, exit_code = ? WHERE id = ?");
  s.bind_int(1, now_ms()).bind_text(2, status).bind_int(3, exit_code).bind_int(4, run);
  s.run();
  db_->require_changed(run);
  locks_.release(run);
}

std::optional<RunRecord> Store::run(int64_t id) {
  std::lock_guard lock(mu_);
  Statement s(db_->conn, std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?");
  s.bind_int(1, id);
  if (!s.step()) return std::nullopt;
  return shown(read_run(s));
}

std::optional<RunRecord> Store::latest_run(std::optional<std::string_view> command) {
  std::lock_guard lock(mu_);
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs";
  if (command) sql += " WHERE command = ?";
  sql += " ORDER BY id DESC LIMIT 1";
  Statement s(db_->conn, sql);
  if (command) s.bind_text(1, *command);
  if (!s.step()) return std::nullopt;
  return shown(read_run(s));
}

std::vector<RunRecord> Store::runs() {
  std::lock_guard lock(mu_);
  Statement s(db_->conn, std::string("SELECT ") + kRunColumns + " FROM runs ORDER BY id");
  std::vector<RunRecord> out;
  while (s.step()) out.push_back(shown(read_run(s)));
  return out;
}

void Store::put_round(const RoundRecord& r) {
  std::lock_guard lock(mu_);
  Written written(*this);
  Statement s(db_->conn,
              "INSERT INTO rounds(run, round, keys_checked, differences, started_ms, finished_ms) "
              "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(run, round) DO UPDATE SET "
              "keys_checked = excluded.keys_checked, differences = excluded.differences, "
              "started_ms = excluded.started_ms, finished_ms = excluded.finished_ms");
  s.bind_int(1, r.run).bind_int(2, r.round).bind_int(3, r.keys_checked);
  s.bind_int(4, r.differences).bind_int(5, r.started_ms).bind_int(6, r.finished_ms);
  s.run();
}

std::vector<RoundRecord> Store::rounds(int64_t run) {
  std::lock_guard lock(mu_);
  Statement s(db_->conn,
              "SELECT run, round, keys_checked, differences, started_ms, finished_ms "
              "FROM rounds WHERE run = ? ORDER BY round");
  s.bind_int(1, run);
  std::vector<RoundRecord> out;
  while (s.step()) {
    out.push_back(
        RoundRecord{s.int64(0), s.int32(1), s.int64(2), s.int64(3), s.int64(4), s.int64(5)});
  }
  return out;
}

int Store::last_round(int64_t run) {
  std::lock_guard lock(mu_);
  Statement s(db_->conn, "SELECT max(round) FROM rounds WHERE run = ?");
  s.bind_int(1, run);
  return s.step() && !s.is_null(0) ? s.int32(0) : 0;
}

int64_t Store::add_differences(int64_t run, std::span<const Difference> diffs,
                               const std::function<void(const Difference&)>& on_insert) {
  if (diffs.empty()) return 0;
  std::lock_guard lock(mu_);
  Written written(*this);
  Transaction tx(db_->conn);
  // A row the round already holds for the key is kept, not doubled: SCAN may
  // return a key twice, and a resumed round may read a key again.
  Statement s(db_->conn,
              "INSERT INTO differences(run, round, db, key, kind, source_type, target_type, "
              "source_ttl_ms, target_ttl_ms, source_digest, target_digest, source_size, "
              "target_size, detail, location) "
              "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15 "
              "WHERE NOT EXISTS(SELECT 1 FROM differences INDEXED BY differences_key "
              "WHERE run = ?1 AND round = ?2 AND db = ?3 AND key = ?4 AND kind = ?5)");
  int64_t inserted = 0;
  for (const Difference& d : diffs) {
    s.bind_int(1, run).bind_int(2, d.round).bind_int(3, d.db).bind_blob(4, d.key);
    s.bind_text(5, d.kind).bind_text(6, d.source_type).bind_text(7, d.target_type);
    s.bind_int(8, d.source_ttl_ms).bind_int(9, d.target_ttl_ms);
    s.bind_text(10, d.source_digest).bind_text(11, d.target_digest);
    s.bind_int(12, d.source_size).bind_int(13, d.target_size).bind_text(14, d.detail);
    s.bind_text(15, d.location);
    s.run();
    const int changed = sqlite3_changes(db_->conn.get());
    inserted += changed;
    if (changed > 0 && on_insert) on_insert(d);
    s.reset();
  }
  tx.commit();
  return inserted;
}

void Store::for_each_difference(int64_t run, const DifferenceFilter& f,
                                const std::function<void(const Difference&)>& fn) {
  // Pages are seeks on an index: INDEXED BY pins the (run, round) index whose
  // rowid order is insertion order (the planner may otherwise prefer the kind
  // index and sort), or the (run, round, db, key, kind) one for key order,
  // paged by the last row's (db, key, kind).
  const std::string sql =
      std::string("SELECT ") + kDifferenceColumns +
      (f.by_key ? " FROM differences INDEXED BY differences_key"
                  " WHERE run = ? AND round = ? AND id > ? AND (db, key, kind) > (?, ?, ?)"
                : " FROM differences INDEXED BY differences_page"
                  " WHERE run = ? AND round = ? AND id > ?") +
      kinds_clause(f) + (f.by_key ? " ORDER BY db, key, kind" : " ORDER BY id") + " LIMIT " +
      std::to_string(kPageRows);
  const int first_kind = f.by_key ? 7 : 4;
  std::optional<int> round;
  int64_t last_id = f.after_id;
  Difference last;  // the last row of the page before: (db, key, kind)
  last.db = -1;
  std::vector<Difference> page;
  for (;;) {
    page.clear();
    {
      // The lock and the statement live only while a page is fetched, so the
      // callback may call back into the store.
      std::lock_guard lock(mu_);
      if (!round) round = db_->resolve_round(run, f);
      Statement s(db_->conn, sql);
      s.bind_int(1, run).bind_int(2, *round).bind_int(3, f.by_key ? f.after_id : last_id);
      if (f.by_key) s.bind_int(4, last.db).bind_blob(5, last.key).bind_text(6, last.kind);
      for (size_t i = 0; i < f.kinds.size(); ++i)
        s.bind_text(static_cast<int>(first_kind + i), f.kinds[i]);
      while (s.step()) {
        last_id = s.int64(0);
        page.push_back(read_difference(s));
      }
    }
    if (!page.empty()) last = page.back();
    for (const Difference& d : page) fn(d);
    if (page.size() < kPageRows) return;
  }
}

int64_t Store::count_differences(int64_t run, const DifferenceFilter& f) {
  std::lock_guard lock(mu_);
  int round = db_->resolve_round(run, f);
  Statement s(db_->conn, "SELECT count(*) FROM differences WHERE run = ? AND round = ? AND id > ?" +
                             kinds_clause(f));
  s.bind_int(1, run).bind_int(2, round).bind_int(3, f.after_id);
  for (size_t i = 0; i < f.kinds.size(); ++i) s.bind_text(static_cast<int>(4 + i), f.kinds[i]);
  return s.step() ? s.int64(0) : 0;
}

std::vector<std::pair<std::string, int64_t>> Store::count_by_kind(int64_t run, int round) {
  std::lock_guard lock(mu_);
  return db_->count_per("differences", "kind", run, round);
}

std::vector<std::pair<std::string, int64_t>> Store::count_by_type(int64_t run, int round) {
  std::lock_guard lock(mu_);
  // An extra key has only a target type.
  return db_->count_per(
      "differences", "CASE WHEN kind = 'extra' THEN target_type ELSE source_type END", run, round);
}

namespace {

// Stored outcome text, in enum order: the store's format, read by older and
// newer versions alike, so never renamed.
constexpr std::array<std::string_view, 4> kActionText = {"restore", "fallback", "delete", "none"};
constexpr std::array<std::string_view, 6> kResultText = {"repaired", "copied", "deleted",
                                                         "skipped",  "failed", "planned"};

template <typename Enum, size_t N>
Enum outcome_from_text(const std::array<std::string_view, N>& names, std::string_view text,
                       const char* column) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == text) return static_cast<Enum>(i);
  throw StoreError("the store holds an outcome " + std::string(column) +
                   " migcheck does not know (" + std::string(text) +
                   "): it was written by a newer version");
}

}  // namespace

std::string_view to_string(Outcome::Action a) {
  return kActionText[static_cast<size_t>(a)];
}

std::string_view to_string(Outcome::Result r) {
  return kResultText[static_cast<size_t>(r)];
}

std::ostream& operator<<(std::ostream& os, Outcome::Action a) {
  return os << to_string(a);
}

std::ostream& operator<<(std::ostream& os, Outcome::Result r) {
  return os << to_string(r);
}

void Store::add_outcomes(int64_t run, std::span<const Outcome> outcomes) {
  if (outcomes.empty()) return;
  std::lock_guard lock(mu_);
  Written written(*this);
  Transaction tx(db_->conn);
  Statement s(db_->conn,
              "INSERT INTO outcomes(run, db, key, action, outcome, error, detail) "
              "VALUES(?, ?, ?, ?, ?, ?, ?)");
  for (const Outcome& o : outcomes) {
    s.bind_int(1, run).bind_int(2, o.db).bind_blob(3, o.key).bind_text(4, to_string(o.action));
    s.bind_text(5, to_string(o.outcome)).bind_text(6, o.error).bind_text(7, o.detail);
    s.run();
    s.reset();
  }
  tx.commit();
}

void Store::for_each_outcome(int64_t run, const std::function<void(const Outcome&)>& fn) {
  const std::string sql =
      "SELECT id, db, key, action, outcome, error, detail FROM outcomes "
      "WHERE run = ? AND id > ? ORDER BY id LIMIT " +
      std::to_string(kPageRows);
  int64_t last_id = 0;
  std::vector<Outcome> page;
  for (;;) {
    page.clear();
    {
      std::lock_guard lock(mu_);  // released before the callbacks, as above
      Statement s(db_->conn, sql);
      s.bind_int(1, run).bind_int(2, last_id);
      while (s.step()) {
        last_id = s.int64(0);
        page.push_back(Outcome{
            .db = s.int32(1),
            .key = s.blob(2),
            .action = outcome_from_text<Outcome::Action>(kActionText, s.text(3), "action"),
            .outcome = outcome_from_text<Outcome::Result>(kResultText, s.text(4), "outcome"),
            .error = s.text(5),
            .detail = s.text(6)});
      }
    }
    for (const Outcome& o : page) fn(o);
    if (page.size() < kPageRows) return;
  }
}

std::vector<std::pair<std::string, int64_t>> Store::count_outcomes(int64_t run) {
  std::lock_guard lock(mu_);
  return db_->count_per("outcomes", "outcome", run, std::nullopt);
}

void Store::put_checkpoint(int64_t run, std::string_view name, std::string_view value) {
  std::lock_guard lock(mu_);
  Written written(*this);  // a checkpoint in a damaged store would promise a resume
  Statement s(db_->conn,
              "INSERT INTO checkpoints(run, name, value) VALUES(?, ?, ?) "
              "ON CONFLICT(run, name) DO UPDATE SET value = excluded.value");
  s.bind_int(1, run).bind_text(2, name).bind_text(3, value);
  s.run();
}

std::optional<std::string> Store::checkpoint(int64_t run, std::string_view name) {
  std::lock_guard lock(mu_);
  Statement s(db_->conn, "SELECT value FROM checkpoints WHERE run = ? AND name = ?");
  s.bind_int(1, run).bind_text(2, name);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

void Store::claim_run(int64_t run) {
  std::lock_guard lock(mu_);
  locks_.claim(run);
}

void Store::reopen_run(int64_t run) {
  std::lock_guard lock(mu_);
  Written written(*this);
  Statement s(db_->conn,
              "UPDATE runs SET finished_ms = 0, status = 'running', exit_code = -1 WHERE id = ?");
  s.bind_int(1, run);
  s.run();
}

int64_t Store::max_difference_id() {
  std::lock_guard lock(mu_);
  // max(rowid) is a single seek; per-run it would scan the run's rows.
  return query_int(db_->conn, "SELECT coalesce(max(id), 0) FROM differences");
}

void Store::rollback_run(int64_t run, int64_t id, int round) {
  std::lock_guard lock(mu_);
  Written written(*this);
  Transaction tx(db_->conn);
  {
    Statement s(db_->conn, "DELETE FROM differences WHERE run = ? AND id > ?");
    s.bind_int(1, run).bind_int(2, id);
    s.run();
  }
  {
    Statement s(db_->conn, "DELETE FROM rounds WHERE run = ? AND round > ?");
    s.bind_int(1, run).bind_int(2, round);
    s.run();
  }
  tx.commit();
}

int64_t Store::max_outcome_id() {
  std::lock_guard lock(mu_);
  return query_int(db_->conn, "SELECT coalesce(max(id), 0) FROM outcomes");
}

void Store::rollback_outcomes(int64_t run, int64_t id) {
  std::lock_guard lock(mu_);
  Written written(*this);
  Statement s(db_->conn, "DELETE FROM outcomes WHERE run = ? AND id > ?");
  s.bind_int(1, run).bind_int(2, id);
  s.run();
}

}  // namespace migcheck

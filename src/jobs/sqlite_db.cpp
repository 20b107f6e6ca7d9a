// SQLite connection, statements and transactions for the job store, with every failure reported
// as a qs::Error that names the database file and says in words what went wrong.
#include "jobs/sqlite_db.h"

#include <sqlite3.h>

#include <chrono>
#include <system_error>
#include <thread>

#include "core/error.h"

namespace qs {

std::string sqlite_failure_words(int result_code) {
  switch (result_code & 0xff) {  // the primary code; extended codes refine it
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "is not a quantscope database or is corrupt";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "is locked by another process";
    case SQLITE_FULL:
    case SQLITE_IOERR:
      return "could not be written: disk full or I/O error";
    case SQLITE_CANTOPEN:
      return "cannot be opened (missing directory, or no permission)";
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return "is read-only (no permission to write it)";
    case SQLITE_CONSTRAINT:
      return "refused the change (a constraint was violated)";
    case SQLITE_NOMEM:
      return "could not be used: out of memory";
    default:
      return cat("failed (", sqlite3_errstr(result_code), ")");
  }
}

SqliteDatabase::SqliteDatabase(const std::filesystem::path &path, const SqliteOptions &options) : path_(path) {
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
      qs::fail("cannot create the directory ", path.parent_path().string(), " for job database ", path.string(), ": ",
               ec.message());
  }
  const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    // sqlite3_open_v2 hands back a connection even on failure; it only carries the message.
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    qs::fail("job database ", path.string(), " ", sqlite_failure_words(rc), " (while opening it; SQLite: ", message,
             ")");
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  try {
    const std::string mode = switch_to_wal(options.busy_timeout_ms);
    if (mode != "wal")
      qs::fail("job database ", path.string(), " cannot use WAL mode (journal mode stays '", mode,
               "'); is it on a network file system?");
    exec("PRAGMA foreign_keys=ON", "turning on foreign keys");
    exec(options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", "setting synchronous");
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

std::string SqliteDatabase::switch_to_wal(int busy_timeout_ms) {
  // The first statement that reads the file: a file of garbage fails here with SQLITE_NOTADB.
  // Switching a new file to WAL takes an exclusive lock, and when another connection holds a
  // shared lock while doing the same (two processes opening a fresh database together) SQLite
  // returns SQLITE_BUSY at once instead of calling the busy handler (that wait could deadlock).
  // One of the two goes through; the other retries here within the busy timeout.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
  for (;;) {
    sqlite3_stmt *statement = nullptr;
    int rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &statement, nullptr);
    std::string mode;
    if (rc == SQLITE_OK && (rc = sqlite3_step(statement)) == SQLITE_ROW) {
      const unsigned char *text = sqlite3_column_text(statement, 0);
      mode = text ? reinterpret_cast<const char *>(text) : "?";
      rc = SQLITE_OK;
    }
    const std::string message = sqlite3_errmsg(db_);
    sqlite3_finalize(statement);
    if (rc == SQLITE_OK) return mode;
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline)
      fail(rc, "switching it to WAL mode", message);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

SqliteDatabase::~SqliteDatabase() {
  // Statements are all finalized by their owners; close_v2 would defer the close otherwise.
  if (db_) sqlite3_close_v2(db_);
}

void SqliteDatabase::exec(const std::string &sql, std::string_view doing) {
  char *message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);  // sqlite3_errmsg still holds the same text for fail()
  if (rc != SQLITE_OK) fail(rc, doing);
}

int64_t SqliteDatabase::changes() const { return sqlite3_changes64(db_); }

int64_t SqliteDatabase::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

void SqliteDatabase::fail(int result_code, std::string_view doing) const {
  fail(result_code, doing, db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(result_code));
}

void SqliteDatabase::fail(int result_code, std::string_view doing, const std::string &message) const {
  qs::fail("job database ", path_.string(), " ", sqlite_failure_words(result_code), " (while ", doing,
           "; SQLite: ", message, ")");
}

SqliteStatement::SqliteStatement(SqliteDatabase &db, const std::string &sql, std::string_view doing)
    : db_(db), doing_(doing) {
  const int rc = sqlite3_prepare_v2(db.handle(), sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) db_.fail(rc, doing_);
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

SqliteStatement &SqliteStatement::bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc, doing_);
  return *this;
}

SqliteStatement &SqliteStatement::bind(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc, doing_);
  return *this;
}

SqliteStatement &SqliteStatement::bind(int index, std::string_view value) {
  const int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_.fail(rc, doing_);
  return *this;
}

SqliteStatement &SqliteStatement::bind(int index, const std::optional<double> &value) {
  return value ? bind(index, *value) : bind_null(index);
}

SqliteStatement &SqliteStatement::bind(int index, const std::optional<std::string> &value) {
  return value ? bind(index, std::string_view(*value)) : bind_null(index);
}

SqliteStatement &SqliteStatement::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_.fail(rc, doing_);
  return *this;
}

bool SqliteStatement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(rc, doing_);
}

void SqliteStatement::run() {
  while (step()) {
  }
}

void SqliteStatement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool SqliteStatement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

int64_t SqliteStatement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

double SqliteStatement::real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string SqliteStatement::text(int column) const {
  const auto *chars = reinterpret_cast<const char *>(sqlite3_column_text(stmt_, column));
  if (!chars) return {};
  return std::string(chars, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<double> SqliteStatement::optional_real(int column) const {
  if (is_null(column)) return std::nullopt;
  return real(column);
}

std::optional<int64_t> SqliteStatement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

std::optional<std::string> SqliteStatement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

SqliteTransaction::SqliteTransaction(SqliteDatabase &db, Kind kind, std::string_view doing) : db_(db), doing_(doing) {
  db_.exec(kind == Kind::write ? "BEGIN IMMEDIATE" : "BEGIN", doing_);
}

SqliteTransaction::~SqliteTransaction() {
  // After SQLITE_FULL or an I/O error SQLite may have rolled back already; then there is
  // nothing left to undo (and ROLLBACK would only complain).
  if (open_ && !sqlite3_get_autocommit(db_.handle())) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void SqliteTransaction::commit() {
  open_ = false;
  const int rc = sqlite3_exec(db_.handle(), "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = sqlite3_errmsg(db_.handle());  // before ROLLBACK replaces it
    if (!sqlite3_get_autocommit(db_.handle())) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    db_.fail(rc, doing_, message);
  }
}

}  // namespace qs

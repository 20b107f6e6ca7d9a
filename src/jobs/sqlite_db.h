// A thin RAII layer over SQLite's C API for the job store: one connection, prepared statements,
// transactions, and SQLite result codes turned into qs::Error messages that name the database file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace qs {

// Words a user understands for an SQLite result code ("is locked by another process", ...).
std::string sqlite_failure_words(int result_code);

struct SqliteOptions {
  int busy_timeout_ms = 5000;  // how long a writer waits for another process's write lock
  // FULL fsyncs the WAL at every commit so that even a power loss keeps every committed unit;
  // NORMAL keeps them across a killed process only (the WAL is in the OS cache), at 1/50 the cost.
  bool synchronous_full = true;
};

class SqliteDatabase {
 public:
  // Opens (creating if missing) the database at `path` in WAL mode with foreign keys on.
  SqliteDatabase(const std::filesystem::path &path, const SqliteOptions &options);
  ~SqliteDatabase();
  SqliteDatabase(const SqliteDatabase &) = delete;
  SqliteDatabase &operator=(const SqliteDatabase &) = delete;

  void exec(const std::string &sql, std::string_view doing);
  int64_t changes() const;
  int64_t last_insert_rowid() const;
  const std::filesystem::path &path() const { return path_; }
  sqlite3 *handle() { return db_; }

  // Throws qs::Error: "job database <path> <words> (while <doing>; SQLite: <message>)".
  [[noreturn]] void fail(int result_code, std::string_view doing) const;
  [[noreturn]] void fail(int result_code, std::string_view doing, const std::string &sqlite_message) const;

 private:
  // PRAGMA journal_mode=WAL, retried while another connection holds the file; the mode it gives.
  std::string switch_to_wal(int busy_timeout_ms);

  std::filesystem::path path_;
  sqlite3 *db_ = nullptr;
};

class SqliteStatement {
 public:
  SqliteStatement(SqliteDatabase &db, const std::string &sql, std::string_view doing);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement &) = delete;
  SqliteStatement &operator=(const SqliteStatement &) = delete;

  // Parameters are numbered from 1, as in SQLite.
  SqliteStatement &bind(int index, int64_t value);
  SqliteStatement &bind(int index, double value);
  SqliteStatement &bind(int index, std::string_view value);
  SqliteStatement &bind(int index, const std::string &value) { return bind(index, std::string_view(value)); }
  SqliteStatement &bind(int index, const char *value) { return bind(index, std::string_view(value)); }
  SqliteStatement &bind(int index, const std::optional<double> &value);
  SqliteStatement &bind(int index, const std::optional<std::string> &value);
  SqliteStatement &bind_null(int index);

  bool step();  // true while a row is available
  void run();   // steps a statement that returns no rows to completion
  void reset();  // ready to bind and step again (bindings are cleared too)

  // Columns are numbered from 0, as in SQLite.
  bool is_null(int column) const;
  int64_t int64(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  std::optional<double> optional_real(int column) const;
  std::optional<int64_t> optional_int64(int column) const;
  std::optional<std::string> optional_text(int column) const;

 private:
  SqliteDatabase &db_;
  sqlite3_stmt *stmt_ = nullptr;
  std::string doing_;
};

// BEGIN IMMEDIATE (write) or BEGIN (a read snapshot); rolls back unless commit() was called.
// IMMEDIATE takes the write lock up front, so a read-then-write inside it can never fail with
// SQLITE_BUSY_SNAPSHOT half-way; the busy timeout applies to getting that lock.
class SqliteTransaction {
 public:
  enum class Kind { read, write };
  SqliteTransaction(SqliteDatabase &db, Kind kind, std::string_view doing);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction &) = delete;
  SqliteTransaction &operator=(const SqliteTransaction &) = delete;
  void commit();

 private:
  SqliteDatabase &db_;
  std::string doing_;
  bool open_ = true;
};

}  // namespace qs

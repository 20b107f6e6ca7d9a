// The job database's schema: a new file gets every table and metric column in WAL mode, an older
// (version 1) file is migrated keeping its rows, and files that are not ours are refused by name.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <fstream>
#include <random>

#include "core/error.h"
#include "jobs/job_store.h"
#include "jobs/schema.h"
#include "jobs/sqlite_db.h"
#include "test_support.h"

namespace qs::schema_test {
namespace {

// A raw connection, independent of the code under test.
struct RawDb {
  sqlite3 *db = nullptr;
  explicit RawDb(const std::filesystem::path &path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK); }
  ~RawDb() { sqlite3_close(db); }
  int exec(const std::string &sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr); }
  std::string text(const std::string &sql) {
    sqlite3_stmt *stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0))
      out = reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return out;
  }
  std::vector<std::string> columns(const std::string &table) {
    std::vector<std::string> names;
    sqlite3_stmt *stmt = nullptr;
    sqlite3_prepare_v2(db, ("PRAGMA table_info(" + table + ")").c_str(), -1, &stmt, nullptr);
    while (sqlite3_step(stmt) == SQLITE_ROW) names.push_back(reinterpret_cast<const char *>(sqlite3_column_text(stmt, 1)));
    sqlite3_finalize(stmt);
    return names;
  }
};

bool contains(const std::vector<std::string> &names, const std::string &name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

using test::error_of;

TEST(JobSchema, NewDatabaseIsWalWithEveryTableAndMetricColumn) {
  test::ScratchDir dir;
  const auto path = dir / "nested" / "deeper" / "jobs.db";  // directories are created as needed
  { JobStore store(path); }
  RawDb raw(path);
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.text("SELECT group_concat(version) FROM (SELECT version FROM schema_version ORDER BY version)"), "1,2");
  for (const char *table : {"jobs", "units", "measurements", "artifacts", "schema_version"})
    EXPECT_FALSE(raw.columns(table).empty()) << table;
  const auto measurement_columns = raw.columns("measurements");
  // The metrics the issue asks for, by name, and every metric the table knows.
  for (const char *name : {"tensor", "type", "bits", "params", "rmse", "max_abs_error", "relative_mse",
                           "weighted_relative_mse", "layer_error", "kld", "delta_ppl"})
    EXPECT_TRUE(contains(measurement_columns, name)) << name;
  for (const auto &metric : all_metrics()) EXPECT_TRUE(contains(measurement_columns, metric.column)) << metric.column;
  for (const char *name : {"lease_host", "lease_pid", "lease_pid_start", "lease_token", "lease_expires_at",
                           "requested_state", "eta_seconds", "units_done", "units_total"})
    EXPECT_TRUE(contains(raw.columns("jobs"), name)) << name;
}

TEST(JobSchema, ConnectionHasForeignKeysAndBusyTimeout) {
  test::ScratchDir dir;
  JobStore store(dir / "jobs.db");
  sqlite3 *db = store.database().handle();
  sqlite3_stmt *stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA foreign_keys", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 1);
  sqlite3_finalize(stmt);
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA busy_timeout", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 5000);
  sqlite3_finalize(stmt);
  // Foreign keys are enforced: a unit of a job that does not exist is refused.
  EXPECT_NE(sqlite3_exec(db, "INSERT INTO units (job_id, unit_key, finished_at) VALUES (77, 'x', 0)", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
}

// Version 1 as it shipped, typed here by hand: proxy metrics only, no layer/kld/delta_ppl columns.
constexpr const char *kHandWrittenVersion1 = R"sql(
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at REAL NOT NULL);
INSERT INTO schema_version VALUES (1, 'initial', 0);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
  params TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
  state TEXT NOT NULL DEFAULT 'queued'
    CHECK (state IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
  requested_state TEXT CHECK (requested_state IN ('paused', 'cancelled')),
  units_done INTEGER NOT NULL DEFAULT 0, units_total INTEGER NOT NULL DEFAULT 0, eta_seconds REAL, error TEXT,
  created_at REAL NOT NULL, started_at REAL, updated_at REAL NOT NULL, finished_at REAL,
  lease_host TEXT, lease_pid INTEGER, lease_pid_start INTEGER, lease_token TEXT, lease_expires_at REAL);
CREATE TABLE units (job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, unit_key TEXT NOT NULL,
  finished_at REAL NOT NULL, PRIMARY KEY (job_id, unit_key)) WITHOUT ROWID;
CREATE TABLE measurements (id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  tensor TEXT NOT NULL, type TEXT NOT NULL, bits REAL NOT NULL, params INTEGER NOT NULL,
  rmse REAL, max_abs_error REAL, relative_mse REAL, weighted_relative_mse REAL, UNIQUE (job_id, tensor, type));
CREATE TABLE artifacts (id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  kind TEXT NOT NULL, path TEXT NOT NULL, created_at REAL NOT NULL, UNIQUE (job_id, path));
INSERT INTO jobs (id, kind, params, state, units_done, units_total, created_at, updated_at)
  VALUES (1, 'measure', '{"model":"tiny"}', 'paused', 1, 4, 100, 200);
INSERT INTO units VALUES (1, 'blk.0.attn_q.weight:Q4_K', 150);
INSERT INTO measurements (job_id, tensor, type, bits, params, rmse, relative_mse)
  VALUES (1, 'blk.0.attn_q.weight', 'Q4_K', 4.5, 4096, 0.25, 0.125);
)sql";

TEST(JobSchema, MigratesVersion1DatabaseKeepingItsRows) {
  test::ScratchDir dir;
  const auto path = dir / "old.db";
  {
    RawDb raw(path);
    ASSERT_EQ(raw.exec(kHandWrittenVersion1), SQLITE_OK);
    EXPECT_FALSE(contains(raw.columns("measurements"), "kld"));
  }
  JobStore store(path);
  {
    RawDb raw(path);
    EXPECT_EQ(raw.text("SELECT max(version) FROM schema_version"), "2");
    for (const char *name : {"layer_error", "kld", "delta_ppl"})
      EXPECT_TRUE(contains(raw.columns("measurements"), name)) << name;
  }
  const JobInfo job = store.job(1);
  EXPECT_EQ(job.kind, "measure");
  EXPECT_EQ(job.state, JobState::paused);
  EXPECT_EQ(job.params, nlohmann::json({{"model", "tiny"}}));
  EXPECT_EQ(job.units_done, 1);
  EXPECT_EQ(job.units_total, 4);
  MeasurementRow expected;
  expected.tensor = "blk.0.attn_q.weight";
  expected.type = "Q4_K";
  expected.bits = 4.5;
  expected.params = 4096;
  expected.set(Metric::rmse, 0.25).set(Metric::relative_mse, 0.125);  // kld etc. stay empty
  EXPECT_EQ(store.measurements(1), std::vector<MeasurementRow>{expected});
  EXPECT_EQ(store.finished_units(1), std::set<std::string>{"blk.0.attn_q.weight:Q4_K"});
  // The new columns take values.
  MeasurementRow with_kld = expected;
  with_kld.tensor = "blk.0.attn_k.weight";
  with_kld.set(Metric::kld, 0.0625);
  store.import_measurements(1, {{with_kld, 2}}, "extra.csv");
  EXPECT_EQ(store.measurements(1).back().get(Metric::kld), 0.0625);
}

TEST(JobSchema, RefusesDatabaseFromNewerQuantscope) {
  test::ScratchDir dir;
  const auto path = dir / "new.db";
  { JobStore store(path); }
  {
    RawDb raw(path);
    ASSERT_EQ(raw.exec("INSERT INTO schema_version VALUES (99, 'future', 0)"), SQLITE_OK);
  }
  const std::string message = error_of([&] { JobStore store(path); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("newer quantscope"), std::string::npos) << message;
}

TEST(JobSchema, RefusesAnotherProgramsDatabase) {
  test::ScratchDir dir;
  const auto path = dir / "other.db";
  {
    RawDb raw(path);
    ASSERT_EQ(raw.exec("CREATE TABLE customers (name TEXT)"), SQLITE_OK);
  }
  const std::string message = error_of([&] { JobStore store(path); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("is not a quantscope database"), std::string::npos) << message;
}

// A real database with one job and 300 measurement rows (many pages), closed cleanly.
void write_real_database(const std::filesystem::path &path) {
  JobStore store(path);
  std::vector<SourcedRow> rows;
  for (int i = 0; i < 300; ++i) {
    MeasurementRow row;
    row.tensor = "blk." + std::to_string(i) + ".ffn_down.weight";
    row.type = "Q6_K";
    row.bits = 6.5625;
    row.params = 1 << 20;
    row.set(Metric::rmse, i * 0.001);
    rows.push_back({row, i + 2});
  }
  store.import_measurements(std::nullopt, rows, "rows.csv");
}

void overwrite_with_garbage(const std::filesystem::path &path, std::streamoff from) {
  const auto size = static_cast<std::streamoff>(std::filesystem::file_size(path));
  ASSERT_GT(size, from);
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(from);
  std::mt19937 random(1234);
  for (std::streamoff i = from; i < size; ++i) file.put(static_cast<char>(random() & 0xff));
}

TEST(JobSchema, GarbageOverWholeFileIsClearError) {
  test::ScratchDir dir;
  const auto path = dir / "jobs.db";
  write_real_database(path);
  ASSERT_FALSE(std::filesystem::exists(path.string() + "-wal"));  // a clean close checkpointed it
  overwrite_with_garbage(path, 0);
  const std::string message = error_of([&] { JobStore store(path); });
  EXPECT_NE(message.find("job database " + path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("is not a quantscope database or is corrupt"), std::string::npos) << message;
}

TEST(JobSchema, GarbageOverPagesAfterTheFirstIsClearError) {
  test::ScratchDir dir;
  const auto path = dir / "jobs.db";
  write_real_database(path);
  overwrite_with_garbage(path, 4096);  // keep page 1 (header + schema), ruin every table's pages
  const std::string message = error_of([&] {
    JobStore store(path);
    store.list_jobs();
    store.measurements(1);
  });
  EXPECT_NE(message.find("job database " + path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("is not a quantscope database or is corrupt"), std::string::npos) << message;
}

TEST(JobSchema, LockedDatabaseIsClearError) {
  test::ScratchDir dir;
  const auto path = dir / "jobs.db";
  { JobStore store(path); }
  RawDb holder(path);
  ASSERT_EQ(holder.exec("BEGIN EXCLUSIVE; INSERT INTO jobs (kind, created_at, updated_at) VALUES ('x', 0, 0)"),
            SQLITE_OK);
  JobStore::Options options;
  options.busy_timeout_ms = 20;  // well below how long the other connection holds its lock
  JobStore store(path, options);  // an up-to-date database opens without the write lock
  EXPECT_TRUE(store.list_jobs().empty());  // WAL: readers are not blocked, and see no uncommitted row
  const std::string message = error_of([&] { store.create_job("measure", nlohmann::json::object()); });
  EXPECT_NE(message.find("job database " + path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("is locked by another process"), std::string::npos) << message;
  ASSERT_EQ(holder.exec("COMMIT"), SQLITE_OK);
  EXPECT_EQ(store.create_job("measure", nlohmann::json::object()), 2);  // works once the lock is gone
}

TEST(JobSchema, SqliteCodesInWords) {
  EXPECT_EQ(sqlite_failure_words(SQLITE_CORRUPT), "is not a quantscope database or is corrupt");
  EXPECT_EQ(sqlite_failure_words(SQLITE_NOTADB), "is not a quantscope database or is corrupt");
  EXPECT_EQ(sqlite_failure_words(SQLITE_BUSY), "is locked by another process");
  EXPECT_EQ(sqlite_failure_words(SQLITE_BUSY_SNAPSHOT), "is locked by another process");
  EXPECT_NE(sqlite_failure_words(SQLITE_FULL).find("disk full or I/O error"), std::string::npos);
  EXPECT_NE(sqlite_failure_words(SQLITE_IOERR_WRITE).find("disk full or I/O error"), std::string::npos);
}

TEST(JobSchema, CannotCreateDirectoryIsClearError) {
  test::ScratchDir dir;
  { std::ofstream(dir / "file") << "x"; }
  const auto path = dir / "file" / "sub" / "jobs.db";  // a directory cannot be made under a file
  const std::string message = error_of([&] { JobStore store(path); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
}

// setenv/unsetenv for one test, restored afterwards.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> saved;
  ScopedEnv(const char *n, const char *value) : name(n) {
    if (const char *old = getenv(n)) saved = old;
    if (value) setenv(n, value, 1);
    else unsetenv(n);
  }
  ~ScopedEnv() {
    if (saved) setenv(name.c_str(), saved->c_str(), 1);
    else unsetenv(name.c_str());
  }
};

TEST(JobSchema, DatabasePathFollowsFlagThenEnvironmentThenXdgThenHome) {
  ScopedEnv home("HOME", "/home/someone");
  ScopedEnv xdg("XDG_DATA_HOME", nullptr);
  ScopedEnv env("QUANTSCOPE_DB", nullptr);
  EXPECT_EQ(resolve_job_database_path(""), "/home/someone/.local/share/quantscope/quantscope.db");
  {
    ScopedEnv relative_xdg("XDG_DATA_HOME", "relative/dir");  // the XDG spec says: ignore it
    EXPECT_EQ(resolve_job_database_path(""), "/home/someone/.local/share/quantscope/quantscope.db");
  }
  ScopedEnv xdg_set("XDG_DATA_HOME", "/data");
  EXPECT_EQ(resolve_job_database_path(""), "/data/quantscope/quantscope.db");
  ScopedEnv env_set("QUANTSCOPE_DB", "/env/q.db");
  EXPECT_EQ(resolve_job_database_path(""), "/env/q.db");
  EXPECT_EQ(resolve_job_database_path("/flag/q.db"), "/flag/q.db");
}

}  // namespace
}  // namespace qs::schema_test

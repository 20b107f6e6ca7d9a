// The job database's schema, one migration per version, applied in order inside one transaction.
// Never edit a migration that has shipped: add the next one (a new metric is an ALTER TABLE ... ADD
// COLUMN here plus its row in measurement_row.cpp).
#include "jobs/schema.h"

#include <array>

#include "core/error.h"
#include "jobs/sqlite_db.h"
#include "jobs/job_clock.h"

namespace qs {
namespace {

// Timestamps are Unix seconds (REAL); params is a JSON object; progress is units_done/units_total.
// A job's lease (lease_token not NULL) names the process that runs it: host, pid and the pid's
// start time (so a reused pid is not mistaken for the owner), renewed until lease_expires_at.
// requested_state is how another process asks the runner to pause or cancel between units.
constexpr const char *kVersion1 = R"sql(
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  params TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
  state TEXT NOT NULL DEFAULT 'queued'
    CHECK (state IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
  requested_state TEXT CHECK (requested_state IN ('paused', 'cancelled')),
  units_done INTEGER NOT NULL DEFAULT 0 CHECK (units_done >= 0),
  units_total INTEGER NOT NULL DEFAULT 0 CHECK (units_total >= 0),
  eta_seconds REAL,
  error TEXT,
  created_at REAL NOT NULL,
  started_at REAL,
  updated_at REAL NOT NULL,
  finished_at REAL,
  lease_host TEXT,
  lease_pid INTEGER,
  lease_pid_start INTEGER,
  lease_token TEXT,
  lease_expires_at REAL
);
CREATE INDEX jobs_by_state ON jobs (state);

CREATE TABLE units (
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  unit_key TEXT NOT NULL,
  finished_at REAL NOT NULL,
  PRIMARY KEY (job_id, unit_key)
) WITHOUT ROWID;

CREATE TABLE measurements (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  tensor TEXT NOT NULL,
  type TEXT NOT NULL,
  bits REAL NOT NULL,
  params INTEGER NOT NULL,
  rmse REAL,
  max_abs_error REAL,
  relative_mse REAL,
  weighted_relative_mse REAL,
  UNIQUE (job_id, tensor, type)
);

CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  created_at REAL NOT NULL,
  UNIQUE (job_id, path)
);
)sql";

constexpr const char *kVersion2 = R"sql(
ALTER TABLE measurements ADD COLUMN layer_error REAL;
ALTER TABLE measurements ADD COLUMN kld REAL;
ALTER TABLE measurements ADD COLUMN delta_ppl REAL;
)sql";

constexpr std::array<Migration, 2> kMigrations{{
    {1, "jobs, units, measurements with weight-space metrics, artifacts", kVersion1},
    {2, "measurement columns for layer output error, KLD and perplexity change", kVersion2},
}};

constexpr const char *kSchemaVersionTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at REAL NOT NULL
);
)sql";

int current_version(SqliteDatabase &db) {
  // One statement, so both counts come from one snapshot: as two statements, another process could
  // create the schema between them (no schema_version yet, then tables), which read as corrupt.
  SqliteStatement tables(db,
                         "SELECT (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'),"
                         " (SELECT count(*) FROM sqlite_schema WHERE type = 'table')",
                         "reading its schema");
  tables.step();
  const bool has_version_table = tables.int64(0) > 0;
  const int64_t table_count = tables.int64(1);
  if (!has_version_table) {
    if (table_count > 0)
      fail("job database ", db.path().string(),
           " is not a quantscope database or is corrupt (it holds tables but no schema_version)");
    return 0;
  }
  SqliteStatement query(db, "SELECT coalesce(max(version), 0) FROM schema_version", "reading its schema version");
  query.step();
  return static_cast<int>(query.int64(0));
}

}  // namespace

std::span<const Migration> schema_migrations() { return kMigrations; }

int latest_schema_version() { return kMigrations.back().version; }

int migrate_schema(SqliteDatabase &db) {
  // A read first: an up-to-date database is opened without taking the write lock, so a reader
  // (the GUI) can open it while a runner holds a write transaction.
  const int found = current_version(db);
  const int latest = latest_schema_version();
  if (found > latest)
    fail("job database ", db.path().string(), " has schema version ", found, " but this quantscope knows up to ",
         latest, "; it was written by a newer quantscope");
  if (found == latest) return found;

  SqliteTransaction upgrade(db, SqliteTransaction::Kind::write, "upgrading its schema");
  const int before = current_version(db);  // another process may have upgraded it meanwhile
  db.exec(kSchemaVersionTable, "creating schema_version");
  for (const auto &migration : kMigrations) {
    if (migration.version <= before) continue;
    db.exec(migration.sql, cat("applying schema migration ", migration.version, " (", migration.description, ")"));
    SqliteStatement record(db, "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                           "recording a schema migration");
    record.bind(1, static_cast<int64_t>(migration.version))
        .bind(2, std::string_view(migration.description))
        .bind(3, unix_now_seconds())
        .run();
  }
  upgrade.commit();
  return before;
}

}  // namespace qs
